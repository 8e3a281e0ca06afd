-- 0018_factory_workflow_engine: what workflow execution needs beyond §3's DDL (issue 11 item 2;
-- docs/factory-workflows.md, "Execution"). Functions and policies only; safe to re-run.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

-- An approval (§3, APPROVAL nodes) is decided by a user holding approval:* (the approver role),
-- who holds no workflow permission but read. The decision is recorded on the waiting instance (and
-- its node's log), so 'approval' joins 'workflow' among the resources whose non-read permissions
-- write workflow_instances and workflow_execution_logs (the policies of 0015 with one more
-- resource). src/factory/workflow-approval.ts writes nothing but the decision, on a WAITING
-- instance, after factory.authorize('approval:decide') in the same batch.
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

-- Why `input` does not fit a workflow definition's variables.input, as {path, message}, or null
-- when it does: an object; every required variable present (not null) unless it has a default;
-- each value of its declared type (string, number, integer, boolean, object, array) and, with an
-- enum, one of its values; no undeclared key. The execute route and every trigger start an
-- instance only when this is null, in the statement that inserts it (one round trip).
create or replace function factory.workflow_input_problem(dsl jsonb, input jsonb) returns text[]
language plpgsql immutable
as $$
declare
  vars jsonb := coalesce(dsl #> '{variables,input}', '{}'::jsonb);
  k text;
  spec jsonb;
  v jsonb;
  kind text;
  fits boolean;
begin
  if jsonb_typeof(input) is distinct from 'object' then
    return array['input', 'must be an object'];
  end if;
  for k, spec in select key, value from jsonb_each(vars) order by key loop
    v := input -> k;
    if v is null or jsonb_typeof(v) = 'null' then
      if coalesce(spec ->> 'required', 'false') = 'true' and not spec ? 'default' then
        return array['input.' || k, 'is required'];
      end if;
      continue;
    end if;
    kind := spec ->> 'type';
    -- Into a variable: PL/pgSQL would end an IF condition at the CASE's first THEN.
    fits := case kind
      when 'string' then jsonb_typeof(v) = 'string'
      when 'number' then jsonb_typeof(v) = 'number'
      when 'integer' then jsonb_typeof(v) = 'number' and (v #>> '{}')::numeric = trunc((v #>> '{}')::numeric)
      when 'boolean' then jsonb_typeof(v) = 'boolean'
      when 'object' then jsonb_typeof(v) = 'object'
      when 'array' then jsonb_typeof(v) = 'array'
      else true
    end;
    if not fits then
      return array['input.' || k, format('must be %s %s', case when kind in ('integer', 'object', 'array') then 'an' else 'a' end, kind)];
    end if;
    if jsonb_typeof(spec -> 'enum') = 'array' and not exists (select 1 from jsonb_array_elements(spec -> 'enum') e where e = v) then
      return array['input.' || k, 'must be one of ' || (spec -> 'enum')::text];
    end if;
  end loop;
  select key into k from jsonb_object_keys(input) as key where not vars ? key order by key limit 1;
  if k is not null then
    return array['input.' || k, 'is not a declared input variable (variables.input)'];
  end if;
  return null;
end
$$;

-- `input` with the defaults of variables.input filled in for variables it leaves out (or null).
create or replace function factory.workflow_input(dsl jsonb, input jsonb) returns jsonb
language sql immutable
as $$
  select coalesce((select jsonb_object_agg(key, value -> 'default')
                   from jsonb_each(coalesce(dsl #> '{variables,input}', '{}'::jsonb))
                   where value ? 'default' and (input -> key is null or jsonb_typeof(input -> key) = 'null')), '{}'::jsonb)
         || jsonb_strip_nulls(input)
$$;

grant execute on function factory.workflow_input_problem(jsonb, jsonb), factory.workflow_input(jsonb, jsonb) to app_api;
