-- Undo 0021_factory_monitoring: the alarm tables and the monitoring and retention indexes. Safe to
-- re-run, also after 0015's down removed the factory tables.

-- squawk-ignore-file ban-drop-table, require-concurrent-index-deletion
-- Dropping what 0021 created is what rolling it back means; a file runs in one transaction, where
-- CONCURRENTLY is impossible.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

do $$
begin
  if to_regclass('factory.judgment_executions') is not null then
    alter policy judgment_executions_read on factory.judgment_executions
      using (app.has_role('service') or tenant_id = (select factory.member_tenant()));
  end if;
  if to_regclass('factory.llm_calls') is not null then
    alter policy llm_calls_read on factory.llm_calls
      using (app.has_role('service') or tenant_id = (select factory.member_tenant()));
  end if;
end
$$;

drop index if exists factory.idx_wf_exec_logs_started;
drop index if exists factory.idx_judgment_cache_execution;
drop index if exists factory.idx_rule_conflicts_tenant_open_critical;
drop index if exists factory.idx_workflow_instances_tenant_ended;
drop index if exists factory.idx_llm_calls_tenant_created_cost;
drop index if exists factory.idx_judgment_exec_tenant_created_monitor;
drop table if exists factory.monitor_alarm_events;
drop table if exists factory.monitor_alarms;
