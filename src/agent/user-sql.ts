import { and, eq, getTableColumns, sql, type SQL } from "drizzle-orm";
import type { Database } from "../platform/db";
import type { AgentRole } from "./access";
import { organizations, users } from "./schema";

/** A user's row as responses carry it: everything but the password and API key hashes. */
export const userColumns = (() => {
  const columns: Partial<ReturnType<typeof getTableColumns<typeof users>>> = { ...getTableColumns(users) };
  delete columns.passwordHash;
  delete columns.apiKeyHash;
  return columns as Omit<ReturnType<typeof getTableColumns<typeof users>>, "passwordHash" | "apiKeyHash">;
})();

/**
 * Serializes the seat check of one organization (max_users): every statement that adds or
 * reactivates a user takes this transaction lock first, so the count it reads is final.
 */
export const lockSeats = (db: Database, orgId: string) => db.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`agent.users:${orgId}`}, 0))`);

/** Active users below max_users, for the organization of the row or statement at hand. */
const hasSeat = (org: SQL | typeof organizations.id) =>
  sql`(select count(*) from ${users} u where u.organization_id = ${org} and u.is_active) < coalesce((select o.max_users from ${organizations} o where o.id = ${org}), 0)`;

export interface NewUser {
  id: string;
  email: string;
  name?: string | null;
  role: AgentRole;
  language?: string | null;
}

/**
 * Inserts the user into `orgId` when it is active and has a seat left; no row otherwise (orgState
 * says why). Every column in table order, as an INSERT … SELECT takes them.
 */
export function insertUser(db: Database, orgId: string, user: NewUser) {
  return db
    .insert(users)
    .select(
      sql`select ${user.id}::uuid, ${user.email}::varchar, ${user.name ?? null}::varchar, null::varchar, null::varchar, o.id,
                 ${user.role}::varchar, '{}'::jsonb, ${user.language ?? "KOR"}::varchar, true, now(), now(), null::timestamptz
          from ${organizations} o
          where o.id = ${orgId}::uuid and o.is_active and ${hasSeat(sql`o.id`)}`,
    )
    .returning(userColumns);
}

/** Why a user could not be added: the organization as the caller sees it, with its seats in use. */
export function orgState(db: Database, orgId: string) {
  return db
    .select({
      isActive: organizations.isActive,
      maxUsers: organizations.maxUsers,
      activeUsers: sql<number>`(select count(*)::int from ${users} u where u.organization_id = ${organizations.id} and u.is_active)`,
    })
    .from(organizations)
    .where(eq(organizations.id, orgId));
}

export interface UserChange {
  name?: string | null;
  role?: AgentRole;
  isActive?: boolean;
  language?: string | null;
}

/**
 * An admin's change to a user of their organization; reactivating takes a seat, so it needs one.
 * Returns the row and the user's API key hash (its cache entry must go: role and status changed).
 */
export function updateUser(db: Database, orgId: string, userId: string, change: UserChange) {
  const seat = change.isActive === true ? sql`(${users.isActive} or ${hasSeat(sql`${orgId}::uuid`)})` : sql`true`;
  return db
    .update(users)
    .set({ ...change, updatedAt: sql`now()` })
    .where(and(eq(users.id, userId), eq(users.organizationId, orgId), seat))
    .returning({ ...userColumns, apiKeyHash: users.apiKeyHash });
}

/**
 * Sets (or with null clears) the caller's own API key hash: the row is locked first, so the hash
 * it replaced, returned by the first statement, is the one whose cache entry must go.
 */
export function replaceApiKey(db: Database, userId: string, orgId: string, hash: string | null) {
  const mine = and(eq(users.id, userId), eq(users.organizationId, orgId), eq(users.isActive, true));
  return [
    db.select({ previous: users.apiKeyHash }).from(users).where(mine).for("update"),
    db.update(users).set({ apiKeyHash: hash, updatedAt: sql`now()` }).where(mine).returning({ id: users.id, role: users.role, updatedAt: users.updatedAt }),
  ] as const;
}
