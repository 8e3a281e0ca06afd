import { sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../platform/db";

/**
 * The retention statements (docs/factory-monitoring.md, "Retention"): each deletes at most
 * `limit` rows older than their tenant's settings.data_retention, oldest first per tenant, and
 * returns how many it deleted per tenant. Re-running one deletes only what is still too old.
 */

/** §2.1's data_retention, the defaults for a tenant that sets none (or sets something other than a whole number of days). */
export const DEFAULT_RETENTION_DAYS = { raw_logs_days: 90, judgment_logs_days: 730, llm_calls_days: 180 } as const;
export type RetentionKey = keyof typeof DEFAULT_RETENTION_DAYS;
/** The longest retention a tenant may set (a century): keeps the interval arithmetic far from overflow. */
export const MAX_RETENTION_DAYS = 36_500;

const Days = z.number().int().min(1).max(MAX_RETENTION_DAYS);
/** tenants.settings.data_retention (§2.1), in whole days. */
export const DataRetention = z.object({ raw_logs_days: Days, judgment_logs_days: Days, llm_calls_days: Days }).partial().strict();

/** The cutoff for one kind of data of tenant `t`: now() less the tenant's days, else the default. */
function cutoff(key: RetentionKey): SQL {
  const path = `{data_retention,${key}}`;
  const days = sql`case when jsonb_typeof(t.settings #> ${path}::text[]) = 'number' and (t.settings #>> ${path}::text[])::numeric between 1 and ${MAX_RETENTION_DAYS}::int
    then floor((t.settings #>> ${path}::text[])::numeric)::int else ${DEFAULT_RETENTION_DAYS[key]}::int end`;
  return sql`now() - make_interval(days => ${days})`;
}

/** Up to `limit` ids chosen by `pick` (a lateral subquery over tenant `t`, at most `limit` rows each), tenants in id order. */
const doomedIds = (pick: SQL, limit: number) => sql`select d.id from factory.tenants t cross join lateral (${pick}) d limit ${limit}`;

const counted = (gone: string) => sql`select tenant_id, count(*)::int as deleted from ${sql.raw(gone)} group by tenant_id`;

export type RetentionResult = { tenant_id: string; deleted: number };

/** Rows of a table with tenant_id and created_at older than the tenant's `days` setting. */
const deleteOlderThan = (db: Database, table: "llm_calls" | "mcp_call_logs", days: RetentionKey, limit: number) =>
  db.execute<RetentionResult>(sql`
    with doomed as (${doomedIds(
      sql`select l.id from ${sql.raw(`factory.${table}`)} l where l.tenant_id = t.id and l.created_at < ${cutoff(days)} order by l.created_at limit ${limit}`,
      limit,
    )}),
    gone as (delete from ${sql.raw(`factory.${table}`)} where id in (select id from doomed) returning tenant_id)
    ${counted("gone")}`);

/** llm_calls older than llm_calls_days. */
export const deleteOldLlmCalls = (db: Database, limit: number) => deleteOlderThan(db, "llm_calls", "llm_calls_days", limit);

/** Raw logs: mcp_call_logs older than raw_logs_days. */
export const deleteOldMcpCallLogs = (db: Database, limit: number) => deleteOlderThan(db, "mcp_call_logs", "raw_logs_days", limit);

/** Raw logs: workflow_execution_logs (a workflow instance's step logs) started more than raw_logs_days ago; the instances stay. */
export const deleteOldWorkflowLogs = (db: Database, limit: number) =>
  db.execute<RetentionResult>(sql`
    with doomed as (${doomedIds(
      sql`select l.id from factory.workflow_execution_logs l join factory.workflow_instances i on i.id = l.instance_id
          where i.tenant_id = t.id and l.started_at < ${cutoff("raw_logs_days")} order by l.started_at limit ${limit}`,
      limit,
    )}),
    gone as (
      delete from factory.workflow_execution_logs l using factory.workflow_instances i
      where l.id in (select id from doomed) and i.id = l.instance_id
      returning i.tenant_id)
    ${counted("gone")}`);

/**
 * Judgment logs: judgment_executions older than judgment_logs_days, except those with feedback or
 * a learning sample (the learning loop's labelled data, kept as long as the feedback or sample).
 * In the same statement, their judgment_cache mirror rows go and llm_calls that still name them
 * keep the call but lose the reference, so no foreign key is ever left dangling.
 */
export const deleteOldJudgments = (db: Database, limit: number) =>
  db.execute<RetentionResult>(sql`
    with doomed as (${doomedIds(
      sql`select j.id from factory.judgment_executions j
          where j.tenant_id = t.id and j.created_at < ${cutoff("judgment_logs_days")}
            and not exists (select 1 from factory.feedbacks f where f.judgment_execution_id = j.id)
            and not exists (select 1 from factory.learning_samples s where s.judgment_execution_id = j.id)
          order by j.created_at limit ${limit}`,
      limit,
    )}),
    mirror as (delete from factory.judgment_cache where judgment_execution_id in (select id from doomed)),
    calls as (update factory.llm_calls set judgment_execution_id = null where judgment_execution_id in (select id from doomed)),
    gone as (delete from factory.judgment_executions where id in (select id from doomed) returning tenant_id)
    ${counted("gone")}`);
