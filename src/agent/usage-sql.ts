import { sql } from "drizzle-orm";
import type { Database } from "../platform/db";

/** This UTC month's first day, as tokens_month holds it. */
const THIS_MONTH = sql`(date_trunc('month', now() at time zone 'utc'))::date`;

/**
 * Zeroes current_month_tokens of the organizations whose counter belongs to an earlier month and
 * moves tokens_month in the same statement: a second run (or an overlapping one) finds nothing
 * to do, so tokens spent after the reset are never wiped.
 */
export const resetMonthlyTokens = (db: Database) =>
  db.execute<{ id: string }>(sql`
    update agent.organizations
       set current_month_tokens = 0, tokens_month = ${THIS_MONTH}, updated_at = now()
     where tokens_month is null or tokens_month < ${THIS_MONTH}
    returning id`);

/**
 * The hourly rollups (docs/agent.md, "Usage metrics") of the previous and the current UTC hour,
 * per organization and user (the session's; null for tool runs outside sessions), upserted on
 * usage_metrics_rollup_key (migration 0014). An hour counts a row by when it was recorded
 * (created_at), so a row is counted once and in one hour; re-running recomputes the same values.
 */
export const rollUpUsage = (db: Database) =>
  db.execute<{ metric_type: string }>(sql`
    with bounds as (select date_trunc('hour', now()) - interval '1 hour' as lo),
    runs as (
      select te.organization_id as org, s.user_id, date_trunc('hour', te.created_at) as hour, te.tokens_used, te.execution_time_ms
        from agent.tool_executions te left join agent.sessions s on s.id = te.session_id, bounds
       where te.created_at >= bounds.lo),
    results as (
      select er.organization_id as org, s.user_id, date_trunc('hour', er.created_at) as hour, er.success, er.api_calls_count
        from agent.execution_results er join agent.sessions s on s.id = er.session_id, bounds
       where er.created_at >= bounds.lo),
    new_plans as (
      select p.organization_id as org, s.user_id, date_trunc('hour', p.created_at) as hour
        from agent.plans p join agent.sessions s on s.id = p.session_id, bounds
       where p.created_at >= bounds.lo),
    new_todos as (
      select t.organization_id as org, s.user_id, date_trunc('hour', t.created_at) as hour
        from agent.todos t join agent.plans p on p.id = t.plan_id join agent.sessions s on s.id = p.session_id, bounds
       where t.created_at >= bounds.lo),
    metrics as (
      select org, user_id, hour, 'token_usage' as metric_type, coalesce(sum(tokens_used), 0)::numeric as value,
             jsonb_build_object('executions', count(*)) as data
        from runs group by org, user_id, hour
      union all
      select org, user_id, hour, 'execution_time', coalesce(sum(execution_time_ms), 0)::numeric,
             jsonb_build_object('executions', count(*), 'unit', 'ms')
        from runs group by org, user_id, hour
      union all
      select org, user_id, hour, 'api_calls', coalesce(sum(api_calls_count), 0)::numeric,
             jsonb_build_object('results', count(*))
        from results group by org, user_id, hour
      union all
      select org, user_id, hour, 'success_rate', round(100.0 * count(*) filter (where success) / count(*), 4),
             jsonb_build_object('succeeded', count(*) filter (where success), 'total', count(*))
        from results group by org, user_id, hour
      union all
      select org, user_id, hour, 'plan_count', count(*)::numeric, null from new_plans group by org, user_id, hour
      union all
      select org, user_id, hour, 'todo_count', count(*)::numeric, null from new_todos group by org, user_id, hour)
    insert into agent.usage_metrics (organization_id, user_id, metric_type, metric_value, metric_data, period_start, period_end, recorded_at)
    select org, user_id, metric_type, value, data, hour, hour + interval '1 hour', now() from metrics
    on conflict (organization_id, user_id, metric_type, period_start) do update
       set metric_value = excluded.metric_value, metric_data = excluded.metric_data,
           period_end = excluded.period_end, recorded_at = excluded.recorded_at
    returning metric_type`);

/** One metric's value over many rollup rows: sums, except success_rate (successes over attempts). */
const AGGREGATE = sql`case when metric_type = 'success_rate'
  then round(100.0 * sum((metric_data->>'succeeded')::numeric) / nullif(sum((metric_data->>'total')::numeric), 0), 4)
  else sum(metric_value) end`;

interface ReportQuery {
  from: string;
  to: string;
  metric?: string;
}

const inRange = (q: ReportQuery) =>
  sql`period_start >= ${q.from}::timestamptz and period_start < ${q.to}::timestamptz ${q.metric ? sql`and metric_type = ${q.metric}` : sql``}`;

/** The report's three views of the caller's organization (row-level security: its admins). */
export const usageReport = (db: Database, orgId: string, q: ReportQuery) =>
  [
    db.execute<{ metric_type: string; value: string | null }>(sql`
      select metric_type, ${AGGREGATE} as value from agent.usage_metrics
       where organization_id = ${orgId} and ${inRange(q)} group by metric_type order by metric_type`),
    db.execute<{ metric_type: string; user_id: string | null; value: string | null }>(sql`
      select metric_type, user_id, ${AGGREGATE} as value from agent.usage_metrics
       where organization_id = ${orgId} and ${inRange(q)} group by metric_type, user_id order by metric_type, user_id nulls last`),
    db.execute<{ metric_type: string; period_start: string; value: string | null }>(sql`
      select metric_type, to_char(period_start at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as period_start, ${AGGREGATE} as value
        from agent.usage_metrics
       where organization_id = ${orgId} and ${inRange(q)} group by metric_type, period_start order by metric_type, period_start`),
  ] as const;
