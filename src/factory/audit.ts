import { getTableColumns, getTableName, is, sql, type SQL } from "drizzle-orm";
import { PgDeleteBase, PgInsertBase, type PgTable } from "drizzle-orm/pg-core";
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import type { Database } from "../platform/db";
import { requestOrigin, type RequestOrigin } from "../platform/request-origin";
import type { ACTOR_TYPES } from "./schema";

/**
 * Audit rows (§10) written in the same statement as the change they record: no audit row, no
 * change. The states are the rows themselves as JSON, less the columns that hold secrets.
 */

/** Never copied into before_state or after_state. */
export const SECRET_COLUMNS = ["password_hash", "credentials_encrypted", "auth_config"] as const;
/** Members of JSON columns that may hold a secret (a tenant's own LLM API key, its webhook signing secret), dropped from the states likewise. */
export const SECRET_PATHS = [
  ["settings", "llm_config", "api_key"],
  ["settings", "notification_config", "webhook_secret"],
] as const;

/** A row as an audit state: its JSON less the secrets. */
const redacted = (row: SQL) =>
  SECRET_PATHS.reduce(
    (state, path) => sql`(${state} #- ${`{${path.join(",")}}`}::text[])`,
    sql`(to_jsonb(${row}) - array[${sql.join(SECRET_COLUMNS.map((c) => sql`${c}`), sql`, `)}]::text[])`,
  );

/** Who acted and from where, as each audit row records it. */
export interface Actor {
  /** users.id of the acting user; null when the actor is no user of the tenant (the platform operator, a job). */
  id: string | null;
  type: (typeof ACTOR_TYPES)[number];
  /** The caller's user id (token sub or its UUIDv5), whoever acts: audit_logs.actor_subject. */
  subject: string;
  origin: RequestOrigin;
}

/** The caller of a factory route, a user of the tenant (factory.authorize() has admitted them). */
export function userActor(c: Context<AppEnv>): Actor {
  const subject = c.var.principal!.userId;
  return { id: subject, type: "user", subject, origin: requestOrigin(c) };
}

/** The platform operator, above tenants: no users row, so actor_type `system` and the subject only. */
export function operatorActor(c: Context<AppEnv>): Actor {
  return { id: null, type: "system", subject: c.var.principal!.userId, origin: requestOrigin(c) };
}

/** A change to audit: one audit_logs row per row it inserts, updates or deletes. */
export interface AuditedChange<T extends PgTable> {
  /** audit_logs.action: create, update, delete, suspend, lock, approve, deploy, rollback, ... */
  action: string;
  /** audit_logs.resource_type, e.g. `user`; resource_id is the changed row's id. */
  resourceType: string;
  /** The table changed; it has an `id` column. */
  table: T;
  /** An INSERT, UPDATE or DELETE builder of `table` ending in `.returning()` (whole rows). */
  change: { getSQL(): SQL };
  /**
   * For an UPDATE or DELETE: the rows it may touch (its own WHERE), whose before-state is read in
   * the same statement's snapshot (not FOR UPDATE: the change's own CTE may run first and hide a
   * locked row). A route racing other writers of the same row locks it in an earlier statement.
   */
  where?: SQL;
  /** The tenant, for a table without tenant_id (a child such as rule_scripts); else the row's own. */
  tenantId?: string;
}

/**
 * One statement (data-modifying CTEs, one snapshot): read the touched rows' before-state, apply
 * the change, insert an audit row per changed row with before/after state and their RFC 6902
 * diff (factory.json_patch), and return the changed rows: map them with changedRows().
 */
export function audited<T extends PgTable>(db: Database, actor: Actor, entry: AuditedChange<T>) {
  const { table, change, where } = entry;
  const isInsert = is(change, PgInsertBase);
  const isDelete = is(change, PgDeleteBase);
  if (!isInsert && !where) throw new TypeError("an audited update or delete needs `where` for the before-state");
  const self = sql.identifier(getTableName(table));
  const before = isInsert
    ? sql`select null::uuid as id, null::jsonb as state where false`
    : sql`select ${self}.id as id, ${redacted(sql`${self}`)} as state from ${table} where ${where}`;
  const after = isDelete ? sql`null::jsonb` : redacted(sql`changed`);
  const { ip, userAgent, traceId } = actor.origin;
  return db.execute<Record<string, unknown>>(sql`
    with before as (${before}),
    changed as (${change.getSQL()}),
    states as (
      select changed.id, before.state as before_state, ${after} as after_state
      from changed left join before on before.id = changed.id
    ),
    audit as (
      insert into factory.audit_logs (tenant_id, actor_id, actor_type, action, resource_type, resource_id,
                                      before_state, after_state, diff, ip_address, user_agent, trace_id, actor_subject)
      select coalesce(${entry.tenantId ?? null}::uuid, (coalesce(s.after_state, s.before_state) ->> 'tenant_id')::uuid),
             ${actor.id}::uuid, ${actor.type}, ${entry.action}, ${entry.resourceType}, s.id::text,
             s.before_state, s.after_state, factory.json_patch(s.before_state, s.after_state),
             ${ip}::inet, ${userAgent}, ${traceId}, ${actor.subject}
      from states s
    )
    select * from changed`);
}

/** The rows an audited() statement returned, as Drizzle maps a select of `table`. */
export function changedRows<T extends PgTable>(table: T, result: { rows: Record<string, unknown>[] }): T["$inferSelect"][] {
  const columns = Object.entries(getTableColumns(table));
  return result.rows.map(
    (raw) =>
      Object.fromEntries(
        columns.map(([key, column]) => {
          const value = raw[column.name];
          return [key, value === null || value === undefined ? null : column.mapFromDriverValue(value)];
        }),
      ) as T["$inferSelect"],
  );
}
