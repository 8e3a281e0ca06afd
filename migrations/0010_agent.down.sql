-- Undo 0010_agent: drop the business tables of spec 002 (their indexes, policies and the trigger
-- go with them), then the helper functions. Safe to re-run. No CASCADE: anything else that came
-- to depend on these (0011's checkpoint tables do not) makes this fail instead of dropping it.

-- squawk-ignore-file ban-drop-table
-- Dropping the tables is what rolling back their creation means; this only runs on purpose.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

-- organizations_read looks into users (API-key holders read their organization): it goes first,
-- or users could not be dropped before organizations.
do $$
begin
  if to_regclass('agent.organizations') is not null then
    drop policy if exists organizations_read on agent.organizations;
  end if;
end
$$;

drop table if exists agent.feedback;
drop table if exists agent.usage_metrics;
drop table if exists agent.tool_executions;
drop table if exists agent.tools;
drop table if exists agent.hitl_events;
drop table if exists agent.execution_results;
drop table if exists agent.todos;
drop table if exists agent.plan_versions;
drop table if exists agent.plans;
drop table if exists agent.sessions;
drop table if exists agent.users;
drop table if exists agent.organizations;

drop function if exists agent.users_guard_self_update();
drop function if exists agent.api_key_hash_setting();
drop function if exists agent.caller_is_member();
drop function if exists agent.caller_role();
drop function if exists agent.caller_org();
