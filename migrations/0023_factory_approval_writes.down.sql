-- Undo 0023_factory_approval_writes: 0018's policies again, where 'workflow' and 'approval'
-- writers both write workflow_instances and workflow_execution_logs. Safe to re-run, also after
-- 0015's down removed the tables.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

do $$
declare
  spec text[];
  t text;
  resources text := quote_literal('workflow') || ', ' || quote_literal('approval');
  owner_check text;
begin
  foreach spec slice 1 in array array[
    array['workflow_instances', '', ''],
    array['workflow_execution_logs', 'workflow_instances', 'instance_id']
  ] loop
    t := spec[1];
    if to_regclass('factory.' || t) is null then
      continue;
    end if;
    owner_check := case when spec[2] = '' then 'tenant_id = (select factory.member_tenant())'
      else format('exists (select 1 from factory.%I p where p.id = %I.%I)', spec[2], t, spec[3]) end;
    execute format('drop policy if exists %I on factory.%I', t || '_create', t);
    execute format('create policy %I on factory.%I for insert with check (app.has_role(''service'') or (%s and factory.may_write(%s)))',
      t || '_create', t, owner_check, resources);
    execute format('drop policy if exists %I on factory.%I', t || '_update', t);
    execute format('create policy %I on factory.%I for update using (app.has_role(''service'') or (%s and factory.may_write(%s))) '
      'with check (app.has_role(''service'') or (%s and factory.may_write(%s)))',
      t || '_update', t, owner_check, resources, owner_check, resources);
  end loop;
end
$$;
