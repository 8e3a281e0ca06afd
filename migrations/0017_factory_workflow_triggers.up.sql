-- 0017_factory_workflow_triggers: what workflow definitions and their triggers need beyond §3's
-- DDL (issue 11 items 1 and 3; docs/factory-workflows.md). Additions only; safe to re-run. Built
-- in the file's transaction: the workflow tables of 0015 have no production rows before this part
-- ships.

-- squawk-ignore-file require-concurrent-index-creation

set local lock_timeout = '5s';
set local statement_timeout = '60s';

-- Exactly one active version per workflow name: activation retires the old one in the same
-- transaction, and two activations racing for a name end in a 409 for one of them.
create unique index if not exists workflows_one_active on factory.workflows (tenant_id, name) where is_active;

-- A webhook-triggered workflow's Standard Webhooks secret (whsec_…), sealed with AES-GCM
-- (src/platform/sealed-secrets.ts, keys FACTORY_CONNECTOR_KEYS) for this tenant and workflow; shown once.
create table if not exists factory.workflow_webhook_secrets (
  workflow_id uuid primary key references factory.workflows(id) on delete cascade,
  tenant_id uuid not null references factory.tenants(id) on delete cascade,
  secret_sealed text not null,
  created_at timestamptz not null default now(),
  rotated_at timestamptz
);

-- A schedule slot claimed by the minute cron: the primary key makes each (workflow, slot) start
-- one instance, however the ticks overlap or run late.
create table if not exists factory.workflow_schedule_slots (
  workflow_id uuid not null references factory.workflows(id) on delete cascade,
  slot_at timestamptz not null,
  tenant_id uuid not null references factory.tenants(id) on delete cascade,
  claimed_at timestamptz not null default now(),
  primary key (workflow_id, slot_at)
);

-- Webhook deliveries seen (webhook-id per workflow): a replay is refused. A delivery older than
-- the 5-minute tolerance is refused by its timestamp anyway, so rows past an hour can go.
create table if not exists factory.workflow_webhook_deliveries (
  workflow_id uuid not null references factory.workflows(id) on delete cascade,
  webhook_id text not null check (length(webhook_id) between 1 and 256),
  tenant_id uuid not null references factory.tenants(id) on delete cascade,
  received_at timestamptz not null default now(),
  primary key (workflow_id, webhook_id)
);
create index if not exists idx_workflow_webhook_deliveries_received on factory.workflow_webhook_deliveries (received_at);

grant select, insert, update, delete on factory.workflow_webhook_secrets, factory.workflow_schedule_slots, factory.workflow_webhook_deliveries to app_api;

-- Like the workflows they belong to (0015): the tenant's active members read; writers of the
-- workflow resource write; the service role (the trigger jobs) reaches every tenant.
do $$
declare
  t text;
begin
  foreach t in array array['workflow_webhook_secrets', 'workflow_schedule_slots', 'workflow_webhook_deliveries'] loop
    execute format('alter table factory.%I enable row level security', t);
    execute format('alter table factory.%I force row level security', t);
    execute format('drop policy if exists %I on factory.%I', t || '_read', t);
    execute format('create policy %I on factory.%I for select using (app.has_role(''service'') or tenant_id = (select factory.member_tenant()))', t || '_read', t);
    execute format('drop policy if exists %I on factory.%I', t || '_create', t);
    execute format('create policy %I on factory.%I for insert with check (app.has_role(''service'') or (tenant_id = (select factory.member_tenant()) and factory.may_write(''workflow'')))', t || '_create', t);
    execute format('drop policy if exists %I on factory.%I', t || '_update', t);
    execute format('create policy %I on factory.%I for update using (app.has_role(''service'') or (tenant_id = (select factory.member_tenant()) and factory.may_write(''workflow''))) '
      'with check (app.has_role(''service'') or (tenant_id = (select factory.member_tenant()) and factory.may_write(''workflow'')))', t || '_update', t);
    execute format('drop policy if exists %I on factory.%I', t || '_delete', t);
    execute format('create policy %I on factory.%I for delete using (app.has_role(''service'') or (tenant_id = (select factory.member_tenant()) and factory.may_write(''workflow'')))', t || '_delete', t);
  end loop;
end
$$;
