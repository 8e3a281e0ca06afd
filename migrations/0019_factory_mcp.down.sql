-- Undo 0019_factory_mcp: mcp_servers back to 0015's update policy (mcp writers only), no guard
-- trigger, no circuit_changed_at. Safe to re-run, also after 0015's down removed the tables.

-- squawk-ignore-file ban-drop-column
-- Dropping what 0019 added is what rolling it back means.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

do $$
begin
  if to_regclass('factory.mcp_servers') is not null then
    drop trigger if exists mcp_servers_guard_update on factory.mcp_servers;
    drop policy if exists mcp_servers_update on factory.mcp_servers;
    create policy mcp_servers_update on factory.mcp_servers for update
      using (app.has_role('service') or (tenant_id = (select factory.member_tenant()) and factory.may_write('mcp')))
      with check (app.has_role('service') or (tenant_id = (select factory.member_tenant()) and factory.may_write('mcp')));
    alter table factory.mcp_servers drop column if exists circuit_changed_at;
  end if;
end
$$;

drop function if exists factory.mcp_servers_guard_update();
