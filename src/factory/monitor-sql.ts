import { sql, type SQL } from "drizzle-orm";
import type { Database } from "../platform/db";
import { CACHE_HIT_MIN_JUDGMENTS, MONITORS, type MonitorDefinition } from "./monitors";

/**
 * The monitors' SQL (docs/factory-monitoring.md). One statement measures every monitor of every
 * tenant it selects: per tenant, five index range scans (lateral subqueries), then one row per
 * monitor with its value, threshold and state. GET /monitoring and GET /metrics select the
 * caller's tenant; the minute cron selects every active tenant and records transitions in the
 * same statement.
 */

export type MonitorReading = {
  tenant_id: string;
  tenant_name: string;
  monitor: string;
  value: number | null;
  threshold: number;
  samples: number;
  /** Epoch milliseconds. */
  window_start: number | null;
  state: "ok" | "alarm" | "no_data";
  /** Epoch milliseconds. */
  alarm_since: number | null;
};

/** A timestamp as epoch milliseconds (a number whatever the driver's type parsers do with timestamptz). */
const epochMs = (ts: SQL) => sql`(extract(epoch from ${ts}) * 1000)::float8`;

const HOUR_AGO = sql`now() - interval '1 hour'`;
const UTC_MIDNIGHT = sql`date_trunc('day', now(), 'UTC')`;

/** Each monitor's value, sample count and window start over the per-tenant aggregates of `r`. */
const MEASURES: Record<(typeof MONITORS)[number]["name"], { value: SQL; samples: SQL; windowStart: SQL }> = {
  judgment_latency_p95_ms: { value: sql`r.latency_p95`, samples: sql`r.latencies`, windowStart: HOUR_AGO },
  llm_cost_usd_today: { value: sql`r.llm_cost`, samples: sql`r.llm_calls`, windowStart: UTC_MIDNIGHT },
  workflow_failure_rate: { value: sql`case when r.runs_ended > 0 then r.runs_failed::float8 / r.runs_ended end`, samples: sql`r.runs_ended`, windowStart: HOUR_AGO },
  critical_conflicts_unresolved: { value: sql`r.open_conflicts::float8`, samples: sql`r.open_conflicts`, windowStart: sql`null::timestamptz` },
  mcp_circuits_open: { value: sql`r.open_circuits::float8`, samples: sql`r.open_circuits`, windowStart: sql`null::timestamptz` },
  cache_hit_rate: { value: sql`case when r.judgments >= ${CACHE_HIT_MIN_JUDGMENTS}::int then r.cache_hits::float8 / r.judgments end`, samples: sql`r.judgments`, windowStart: HOUR_AGO },
};

/** The tenant's threshold: settings.monitoring_thresholds.<name> when it is a number (PATCH /tenant validates it), else the default. */
function thresholdOf(m: MonitorDefinition): SQL {
  if (!m.tenantThreshold) return sql`${m.defaultThreshold}::float8`;
  const path = `{monitoring_thresholds,${m.name}}`;
  return sql`coalesce(case when jsonb_typeof(r.settings #> ${path}::text[]) = 'number' then (r.settings #>> ${path}::text[])::float8 end, ${m.defaultThreshold}::float8)`;
}

/**
 * CTEs `readings` (tenant_id, tenant_name, ord, monitor, value, threshold, samples, window_start,
 * state) for the tenants `tenantFilter` selects (a condition on factory.tenants).
 */
function readingsCtes(tenantFilter: SQL): SQL {
  const rows = MONITORS.map((m, i) => {
    const { value, samples, windowStart } = MEASURES[m.name];
    return sql`(${i}::int, ${m.name}::text, (${value})::float8, ${thresholdOf(m)}, (${samples})::int, ${windowStart}, ${m.alarmWhen}::text)`;
  });
  return sql`
    t as (select id, name, settings from factory.tenants where ${tenantFilter}),
    r as (
      select t.id, t.name, t.settings, j.judgments, j.cache_hits, j.latencies, j.latency_p95,
             c.llm_cost, c.llm_calls, w.runs_ended, w.runs_failed, k.open_conflicts, m.open_circuits
      from t
      cross join lateral (
        select count(*) as judgments, count(*) filter (where je.cache_hit) as cache_hits, count(je.latency_ms) as latencies,
               percentile_cont(0.95) within group (order by je.latency_ms) as latency_p95
        from factory.judgment_executions je where je.tenant_id = t.id and je.created_at >= ${HOUR_AGO}) j
      cross join lateral (
        select coalesce(sum(lc.cost_estimate_usd), 0)::float8 as llm_cost, count(*) as llm_calls
        from factory.llm_calls lc where lc.tenant_id = t.id and lc.created_at >= ${UTC_MIDNIGHT}) c
      cross join lateral (
        select count(*) as runs_ended, count(*) filter (where wi.status in ('FAILED', 'TIMEOUT')) as runs_failed
        from factory.workflow_instances wi
        where wi.tenant_id = t.id and wi.ended_at >= ${HOUR_AGO} and wi.status in ('COMPLETED', 'FAILED', 'TIMEOUT')) w
      cross join lateral (
        select count(*) as open_conflicts from factory.rule_conflicts rc
        where rc.tenant_id = t.id and rc.severity = 'critical' and rc.resolution_status in ('unresolved', 'investigating')) k
      cross join lateral (
        select count(*) as open_circuits from factory.mcp_servers ms where ms.tenant_id = t.id and ms.circuit_breaker_state = 'open') m
    ),
    measured as (
      select r.id as tenant_id, r.name as tenant_name, v.*
      from r cross join lateral (values ${sql.join(rows, sql`, `)}) as v(ord, monitor, value, threshold, samples, window_start, alarm_when)
    ),
    readings as (
      select tenant_id, tenant_name, ord, monitor, value, threshold, samples, window_start,
             case when value is null then 'no_data'
                  when (alarm_when = 'above' and value > threshold) or (alarm_when = 'below' and value < threshold) then 'alarm'
                  else 'ok' end as state
      from measured
    )`;
}

/** The caller's tenant's readings with the time its current alarm was raised, in monitor order (row-level security reads as the caller). */
export const callerReadings = (db: Database) => db.execute<MonitorReading>(callerReadingsQuery());

/** callerReadings()' statement (the bench EXPLAINs it). */
export const callerReadingsQuery = () => sql`
    with ${readingsCtes(sql`id = factory.caller_tenant()`)}
    select x.tenant_id, x.tenant_name, x.monitor, x.value, x.threshold, x.samples, ${epochMs(sql`x.window_start`)} as window_start, x.state,
           ${epochMs(sql`case when a.state = 'alarm' then a.changed_at end`)} as alarm_since
    from readings x left join factory.monitor_alarms a on a.tenant_id = x.tenant_id and a.monitor = x.monitor
    order by x.ord`;

/** Whether the tenant's settings.notification_config asks for signed webhooks and names where and with what secret. */
const WEBHOOK_CONFIGURED = sql`(jsonb_typeof(tn.settings #> '{notification_config,webhook_url}') = 'string'
  and jsonb_typeof(tn.settings #> '{notification_config,webhook_secret}') = 'string'
  and (tn.settings #> '{notification_config,webhook_enabled}') is distinct from 'false'::jsonb)`;

/**
 * Evaluates every active tenant and records what changed, in one statement: a monitor in alarm
 * whose stored state is ok (or absent) is raised, a stored alarm whose monitor is now ok or
 * no_data is cleared, each with an event row (`pending` delivery when the tenant has a webhook,
 * else `skipped`). The state moves by a conditional upsert and a conditional update, so of two
 * overlapping runs only the first records the transition: the second waits for its row lock,
 * then finds the state already moved.
 */
export const recordTransitions = (db: Database) =>
  db.execute<{ id: string; tenant_id: string; monitor: string; transition: string; delivery_status: string }>(sql`
    with ${readingsCtes(sql`status = 'active'`)},
    raised as (
      insert into factory.monitor_alarms as a (tenant_id, monitor, state, value, threshold, changed_at)
      select tenant_id, monitor, 'alarm', value, threshold, now() from readings where state = 'alarm'
      on conflict (tenant_id, monitor) do update
        set state = 'alarm', value = excluded.value, threshold = excluded.threshold, changed_at = now()
        where a.state = 'ok'
      returning a.tenant_id, a.monitor, a.value, a.threshold
    ),
    cleared as (
      update factory.monitor_alarms a set state = 'ok', value = x.value, threshold = x.threshold, changed_at = now()
      from readings x
      where a.tenant_id = x.tenant_id and a.monitor = x.monitor and a.state = 'alarm' and x.state <> 'alarm'
      returning a.tenant_id, a.monitor, a.value, a.threshold
    ),
    moved as (
      select tenant_id, monitor, value, threshold, 'raised' as transition from raised
      union all
      select tenant_id, monitor, value, threshold, 'cleared' from cleared
    )
    insert into factory.monitor_alarm_events (tenant_id, monitor, transition, value, threshold, window_start, delivery_status)
    select mv.tenant_id, mv.monitor, mv.transition, mv.value, mv.threshold, x.window_start,
           case when ${WEBHOOK_CONFIGURED} then 'pending' else 'skipped' end
    from moved mv
    join readings x on x.tenant_id = mv.tenant_id and x.monitor = mv.monitor
    join factory.tenants tn on tn.id = mv.tenant_id
    returning id, tenant_id, monitor, transition, delivery_status`);

export type ClaimedDelivery = {
  id: string;
  tenant_id: string;
  tenant_name: string;
  monitor: string;
  transition: "raised" | "cleared";
  value: number | null;
  threshold: number;
  /** Epoch milliseconds. */
  window_start: number | null;
  /** Epoch milliseconds. */
  occurred_at: number;
  attempts: number;
  claimed: string;
  notification: Record<string, unknown> | null;
};

/**
 * Claims up to `limit` deliveries that are due (pending, or sending with an expired lease: a run
 * that died mid-send), oldest first: each moves to `sending` with a lease of `leaseSeconds`, so an
 * overlapping run skips it (SKIP LOCKED while it is being claimed, the lease after).
 */
export const claimDeliveries = (db: Database, limit: number, leaseSeconds: number) =>
  db.execute<ClaimedDelivery>(sql`
    update factory.monitor_alarm_events e
    set delivery_status = 'sending', claimed_at = clock_timestamp(), attempts = e.attempts + 1,
        next_attempt_at = now() + make_interval(secs => ${leaseSeconds})
    from factory.tenants tn
    where tn.id = e.tenant_id and e.id in (
      select d.id from factory.monitor_alarm_events d
      where d.delivery_status in ('pending', 'sending') and d.next_attempt_at <= now()
      order by d.next_attempt_at, d.id
      limit ${limit}
      for update skip locked)
    returning e.id, e.tenant_id, tn.name as tenant_name, e.monitor, e.transition, e.value, e.threshold,
              ${epochMs(sql`e.window_start`)} as window_start, ${epochMs(sql`e.occurred_at`)} as occurred_at, e.attempts, e.claimed_at::text as claimed, tn.settings -> 'notification_config' as notification`);

export interface DeliveryOutcome {
  id: string;
  claimed: string;
  ok: boolean;
  error: string | null;
}

/**
 * Writes the outcomes of one run, each only to a row still as this run claimed it: delivered, or
 * pending again after `backoffSeconds × 2^(attempts−1)`, or failed once `maxAttempts` are spent.
 */
export const writeDeliveries = (db: Database, outcomes: DeliveryOutcome[], maxAttempts: number, backoffSeconds: number) =>
  db.execute<{ id: string; delivery_status: string }>(sql`
    update factory.monitor_alarm_events e
    set delivery_status = case when o.ok then 'delivered' when e.attempts >= ${maxAttempts}::int then 'failed' else 'pending' end,
        delivered_at = case when o.ok then now() end,
        next_attempt_at = case when o.ok then e.next_attempt_at else now() + make_interval(secs => ${backoffSeconds}::int * power(2, e.attempts - 1)) end,
        last_error = o.error
    from jsonb_to_recordset(${JSON.stringify(outcomes)}::jsonb) as o(id uuid, claimed timestamptz, ok boolean, error text)
    where e.id = o.id and e.claimed_at = o.claimed and e.delivery_status = 'sending'
    returning e.id, e.delivery_status`);
