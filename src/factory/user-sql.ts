import { and, eq, getTableColumns, inArray, sql, type SQL } from "drizzle-orm";
import type { Database } from "../platform/db";
import type { FactoryRole } from "./access";
import { tenants, users, USER_STATUSES } from "./schema";

/**
 * password_hash is NOT NULL in the document, but signing in belongs to the identity provider:
 * every user gets this value, which no password hash scheme can produce or verify (like a locked
 * /etc/shadow entry), so the column can never let anyone in.
 */
export const UNUSABLE_PASSWORD_HASH = "!identity-provider";

/** A user's columns as responses carry them: all but password_hash. */
export const userColumns = (() => {
  const { passwordHash: _omitted, ...columns } = getTableColumns(users);
  return columns;
})();

/** A users row as responses carry it. */
export function shownUser({ passwordHash: _omitted, ...user }: typeof users.$inferSelect) {
  return user;
}

/**
 * Serializes the seat check of one tenant (max_users): every statement that adds a user or gives
 * an inactive one a seat back takes this transaction lock first, so the count it reads is final.
 */
export const lockSeats = (db: Database, tenantId: string) =>
  db.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`factory.users:${tenantId}`}, 0))`);

/** Users hold a seat unless inactive: a locked user keeps theirs. */
// Aliases of their own: `tenant` is an expression of the outer query (such as t.id), which an
// inner alias of the same name would capture.
const seatsInUse = (tenant: SQL) => sql`(select count(*) from ${users} seat_user where seat_user.tenant_id = ${tenant} and seat_user.status <> 'inactive')`;
const hasSeat = (tenant: SQL) => sql`${seatsInUse(tenant)} < (select seat_tenant.max_users from ${tenants} seat_tenant where seat_tenant.id = ${tenant})`;

export interface NewUser {
  id: string;
  email: string;
  username: string;
  role: FactoryRole;
  permissions: string[];
  metadata: Record<string, unknown>;
}

/** Inserts the user into the tenant when it has a seat left (exact under concurrency after lockSeats); no row otherwise. Columns in table order. */
export function insertUser(db: Database, tenantId: string, user: NewUser) {
  return db
    .insert(users)
    .select(
      sql`select ${user.id}::uuid, t.id, ${user.email}, ${user.username}, ${UNUSABLE_PASSWORD_HASH}, ${user.role},
                 array(select jsonb_array_elements_text(${JSON.stringify(user.permissions)}::jsonb)), ${JSON.stringify(user.metadata)}::jsonb, 'active', null::timestamptz, now(), now()
          from ${tenants} t
          where t.id = ${tenantId}::uuid and ${hasSeat(sql`t.id`)}`,
    )
    .returning();
}

/** The tenant's seats as the caller sees them: why a user could not be added or reactivated. */
export const seatState = (db: Database, tenantId: string) =>
  db
    .select({ maxUsers: tenants.maxUsers, seatsInUse: sql<number>`${seatsInUse(sql`${tenants.id}`)}::int` })
    .from(tenants)
    .where(eq(tenants.id, tenantId));

export interface UserChange {
  email?: string;
  username?: string;
  role?: FactoryRole;
  permissions?: string[];
  status?: (typeof USER_STATUSES)[number];
  metadata?: Record<string, unknown>;
}

/** The user's row in the tenant, when it may take the change: an inactive user leaving inactive needs a seat. */
export function userWhere(tenantId: string, id: string, change: UserChange, fromStatuses?: readonly (typeof USER_STATUSES)[number][]): SQL {
  const seat = change.status && change.status !== "inactive" ? sql`(${users.status} <> 'inactive' or ${hasSeat(sql`${users.tenantId}`)})` : undefined;
  return and(eq(users.id, id), eq(users.tenantId, tenantId), fromStatuses ? inArray(users.status, fromStatuses) : undefined, seat)!;
}
