-- 0021_factory_monitoring: what §12.4's monitors and §2.1's data_retention need beyond the
-- document's DDL (issue 12 items 5 and 6; docs/factory-monitoring.md). Additions only; safe to re-run.

-- squawk-ignore-file require-concurrent-index-creation, prefer-bigint-over-int
-- Indexes are built in the file's transaction, as 0016 builds its own: the factory tables have no
-- production rows before part 3 ships, so each build takes no time. A database that already holds
-- millions of judgments builds them first with CREATE INDEX CONCURRENTLY under the same names
-- (outside any transaction); `if not exists` then makes these statements no-ops.
-- prefer-bigint-over-int: attempts counts a handful of deliveries.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

-- Each monitor's last evaluated state per tenant: the minute cron moves ok -> alarm and back with
-- one conditional statement, so two overlapping runs record a transition once.
create table if not exists factory.monitor_alarms (
  tenant_id uuid NOT NULL REFERENCES factory.tenants(id),
  monitor text NOT NULL,
  state text NOT NULL CHECK (state IN ('ok','alarm')),
  value float,
  threshold float NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, monitor)
);

-- Every transition (raised, cleared) and the delivery of its webhook: the row's id is the
-- Standard Webhooks `webhook-id`, the same on every attempt, so receivers can drop a repeat.
create table if not exists factory.monitor_alarm_events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES factory.tenants(id),
  monitor text NOT NULL,
  transition text NOT NULL CHECK (transition IN ('raised','cleared')),
  value float,
  threshold float NOT NULL,
  window_start timestamptz,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  delivery_status text NOT NULL CHECK (delivery_status IN ('pending','sending','delivered','failed','skipped')),
  attempts int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  claimed_at timestamptz,
  delivered_at timestamptz,
  last_error text
);

create index if not exists idx_monitor_alarm_events_tenant on factory.monitor_alarm_events (tenant_id, occurred_at DESC);
create index if not exists idx_monitor_alarm_events_due on factory.monitor_alarm_events (next_attempt_at)
  WHERE delivery_status IN ('pending','sending');

-- Members of the tenant read both; only jobs (the service role) write them.
do $$
declare
  t text;
begin
  foreach t in array array['monitor_alarms', 'monitor_alarm_events'] loop
    execute format('alter table factory.%I enable row level security', t);
    execute format('alter table factory.%I force row level security', t);
    execute format('drop policy if exists %I on factory.%I', t || '_read', t);
    execute format('create policy %I on factory.%I for select using (app.has_role(''service'') or tenant_id = (select factory.member_tenant()))', t || '_read', t);
    execute format('drop policy if exists %I on factory.%I', t || '_service', t);
    execute format('create policy %I on factory.%I for all using (app.has_role(''service'')) with check (app.has_role(''service''))', t || '_service', t);
  end loop;
end
$$;

-- The monitors aggregate thousands of these two tables' rows per request, and their read policies
-- (0015) called app.has_role('service') once per row: about 5 µs a row, most of the statement's
-- time. The same predicate with the role test as an uncorrelated subquery is evaluated once per
-- statement (an InitPlan), as member_tenant() already was. Who may read what does not change.
alter policy judgment_executions_read on factory.judgment_executions
  using ((select app.has_role('service')) or tenant_id = (select factory.member_tenant()));
alter policy llm_calls_read on factory.llm_calls
  using ((select app.has_role('service')) or tenant_id = (select factory.member_tenant()));

-- GET /monitoring reads the last hour of a tenant's judgments: latency and cache_hit from the
-- index alone (an index-only scan where the visibility map allows), not a heap page per row.
create index if not exists idx_judgment_exec_tenant_created_monitor
  on factory.judgment_executions (tenant_id, created_at) INCLUDE (latency_ms, cache_hit);
-- The day's LLM cost from the index alone.
create index if not exists idx_llm_calls_tenant_created_cost
  on factory.llm_calls (tenant_id, created_at) INCLUDE (cost_estimate_usd);
-- Workflow runs that ended in the last hour (the failure rate).
create index if not exists idx_workflow_instances_tenant_ended
  on factory.workflow_instances (tenant_id, ended_at) INCLUDE (status) WHERE ended_at IS NOT NULL;
-- Open critical conflicts per tenant (the document's partial index has no tenant_id).
create index if not exists idx_rule_conflicts_tenant_open_critical
  on factory.rule_conflicts (tenant_id) WHERE severity = 'critical' AND resolution_status IN ('unresolved','investigating');
-- Retention deletes judgments; the foreign key from judgment_cache is checked per deleted row,
-- and judgment_cache had no index on judgment_execution_id (feedbacks, learning_samples and
-- llm_calls have theirs).
create index if not exists idx_judgment_cache_execution on factory.judgment_cache (judgment_execution_id);
-- Retention deletes mcp_call_logs and workflow_execution_logs by age.
create index if not exists idx_wf_exec_logs_started on factory.workflow_execution_logs (started_at);
