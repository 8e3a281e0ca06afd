-- 0019_factory_mcp: what the MCP circuit breaker needs beyond §9.2's DDL (issue 11 item 5;
-- docs/factory-mcp.md). Additions only; safe to re-run.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

-- When circuit_breaker_state last changed: an open breaker lets one trial call through
-- (half_open) once its cool-down has passed since this moment. updated_at cannot serve: every
-- change of the row (a rename, a new fail_count) moves it.
alter table factory.mcp_servers add column if not exists circuit_changed_at timestamptz;

-- A workflow's MCP node calls a tool as the instance's actor, who holds workflow permissions and
-- perhaps no mcp one; the call must still record its outcome in the server's breaker. Writers of
-- workflows may therefore update mcp_servers, and this trigger limits them (and anyone without an
-- mcp permission other than read) to the breaker's columns and the health status.
create or replace function factory.mcp_servers_guard_update() returns trigger
language plpgsql
as $$
begin
  if app.has_role('service') or factory.may_write('mcp') then
    return new;
  end if;
  if new.id is distinct from old.id or new.tenant_id is distinct from old.tenant_id or new.name is distinct from old.name
     or new.endpoint is distinct from old.endpoint or new.protocol is distinct from old.protocol
     or new.config is distinct from old.config or new.auth_config is distinct from old.auth_config
     or new.created_at is distinct from old.created_at then
    raise exception 'only holders of an mcp permission may change an MCP server''s registration'
      using errcode = '42501';
  end if;
  return new;
end
$$;

drop trigger if exists mcp_servers_guard_update on factory.mcp_servers;
create trigger mcp_servers_guard_update before update on factory.mcp_servers
  for each row execute function factory.mcp_servers_guard_update();

drop policy if exists mcp_servers_update on factory.mcp_servers;
create policy mcp_servers_update on factory.mcp_servers for update
  using (app.has_role('service') or (tenant_id = (select factory.member_tenant()) and factory.may_write('mcp', 'workflow')))
  with check (app.has_role('service') or (tenant_id = (select factory.member_tenant()) and factory.may_write('mcp', 'workflow')));
