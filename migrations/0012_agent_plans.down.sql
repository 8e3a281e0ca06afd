-- Undo 0012_agent_plans: the approval guards and the token-charging policy go; approving falls
-- back to the plans_write and todos_write policies, charging tokens to admins.
-- Safe to re-run.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

drop trigger if exists plans_guard_approval on agent.plans;
drop function if exists agent.plans_guard_approval();
drop trigger if exists todos_guard_approval on agent.todos;
drop function if exists agent.todos_guard_approval();
drop trigger if exists organizations_guard_charge on agent.organizations;
drop function if exists agent.organizations_guard_charge();
drop policy if exists organizations_charge on agent.organizations;
