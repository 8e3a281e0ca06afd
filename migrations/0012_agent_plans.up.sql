-- 0012_agent_plans: plans and their execution (docs/agent.md, "Plans and versions", "Executing
-- the DAG"). Managers and admins approve plans and todos: the routes check the agent role, and
-- since 0010's write policies admit every member but viewers, the triggers below make Postgres say
-- the same as the code. Completing a todo charges the organization's month tokens. Safe to re-run.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

-- A move to approved takes a manager or an admin.
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

-- Completing a todo charges its tokens to the organization's current_month_tokens, in the same
-- batch as the result. Any member but a viewer may do that to their own organization, and only
-- that: the policy says whose row, the trigger which column and which way (up).
drop policy if exists organizations_charge on agent.organizations;
create policy organizations_charge on agent.organizations for update
  using (id = agent.caller_org() and agent.caller_role() <> 'viewer' and agent.caller_is_member())
  with check (id = agent.caller_org() and agent.caller_role() <> 'viewer' and agent.caller_is_member());

create or replace function agent.organizations_guard_charge() returns trigger
language plpgsql
as $$
begin
  if app.has_role('service') or app.has_role('operator') or (agent.caller_role() = 'admin' and old.id = agent.caller_org()) then
    return new;
  end if;
  if row(new.id, new.name, new.slug, new.settings, new.max_users, new.max_daily_requests, new.max_monthly_tokens, new.is_active, new.created_at)
       is distinct from row(old.id, old.name, old.slug, old.settings, old.max_users, old.max_daily_requests, old.max_monthly_tokens, old.is_active, old.created_at)
     or coalesce(new.current_month_tokens, 0) < coalesce(old.current_month_tokens, 0) then
    raise exception 'a member other than an admin may only add to the month''s tokens'
      using errcode = '42501';
  end if;
  return new;
end
$$;

drop trigger if exists organizations_guard_charge on agent.organizations;
create trigger organizations_guard_charge before update on agent.organizations
  for each row execute function agent.organizations_guard_charge();

-- Managers and admins approve a todo that requires approval (approved_at set), as the route says.
create or replace function agent.todos_guard_approval() returns trigger
language plpgsql
as $$
begin
  if new.approved_at is not null and old.approved_at is null
     and not (app.has_role('service') or agent.caller_role() in ('admin', 'manager')) then
    raise exception 'approving a todo takes a manager or an admin'
      using errcode = '42501';
  end if;
  return new;
end
$$;

drop trigger if exists todos_guard_approval on agent.todos;
create trigger todos_guard_approval before update of approved_at on agent.todos
  for each row execute function agent.todos_guard_approval();
