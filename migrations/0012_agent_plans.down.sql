-- Undo 0012_agent_plans: the approval guard goes; approving falls back to the plans_write policy.
-- Safe to re-run.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

drop trigger if exists plans_guard_approval on agent.plans;
drop function if exists agent.plans_guard_approval();
