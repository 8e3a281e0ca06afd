-- Undo 0014_agent_usage: 0010's feedback policies, no rollup key, no tokens_month. Safe to re-run,
-- also after 0010's down removed the schema (the guards skip what is already gone).

-- squawk-ignore-file ban-drop-column
-- Dropping tokens_month is what rolling back its addition means; this only runs on purpose.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

do $$
begin
  if to_regclass('agent.feedback') is not null then
    drop policy if exists feedback_service on agent.feedback;
    drop policy if exists feedback_insert on agent.feedback;
    drop policy if exists feedback_read on agent.feedback;
    create policy feedback_read on agent.feedback for select
      using (organization_id = agent.caller_org() or app.has_role('service'));
    drop policy if exists feedback_write on agent.feedback;
    create policy feedback_write on agent.feedback for all
      using (app.has_role('service') or (organization_id = agent.caller_org() and agent.caller_role() <> 'viewer'))
      with check (app.has_role('service') or (organization_id = agent.caller_org() and agent.caller_role() <> 'viewer' and agent.caller_is_member()));
  end if;
  if to_regclass('agent.organizations') is not null then
    alter table agent.organizations drop column if exists tokens_month;
  end if;
end
$$;

-- A file runs in one transaction, where CONCURRENTLY is impossible; these indexes serve only the rollups.
-- squawk-ignore require-concurrent-index-deletion
drop index if exists agent.usage_metrics_rollup_key;
-- squawk-ignore require-concurrent-index-deletion
drop index if exists agent.idx_plans_created_at;
-- squawk-ignore require-concurrent-index-deletion
drop index if exists agent.idx_todos_created_at;
-- squawk-ignore require-concurrent-index-deletion
drop index if exists agent.idx_execution_results_created_at;
