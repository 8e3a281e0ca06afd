-- Plans (docs/agent.md, "Plans and versions"): managers and admins approve a plan. The route
-- checks the agent role; the plans_write policy of 0010 admits every member but viewers, so this
-- trigger makes Postgres say the same as the code. Safe to re-run.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

create or replace function agent.plans_guard_approval() returns trigger
language plpgsql
as $$
begin
  if new.status = 'approved' and old.status is distinct from 'approved'
     and not (app.has_role('service') or agent.caller_role() in ('admin', 'manager')) then
    raise exception 'approving a plan takes a manager or an admin'
      using errcode = '42501';
  end if;
  return new;
end
$$;

drop trigger if exists plans_guard_approval on agent.plans;
create trigger plans_guard_approval before update of status on agent.plans
  for each row execute function agent.plans_guard_approval();
