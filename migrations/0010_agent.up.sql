-- 0010_agent: the business tables of spec 002 (agent orchestration) in schema agent, column for
-- column as ../shared/spec/expected/agent.sql (the contract checked by schema-conformance), then
-- the identity helpers and row-level security. The LangGraph checkpoint tables are migration 0011.
-- docs/agent.md describes the roles; every addition to the document's DDL is explained where it
-- is made.
--
-- Tables are created in dependency order (the document lists sessions before users and users
-- before organizations, which Postgres cannot create in that order).

-- squawk-ignore-file prefer-bigint-over-int, prefer-text-field, require-concurrent-index-creation
-- Integer counters, VARCHAR lengths and plain index creation on new, empty tables are the
-- document's contract.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

create table if not exists agent.organizations (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    slug VARCHAR(100) UNIQUE,
    settings JSONB DEFAULT '{}',
    max_users INTEGER DEFAULT 10,
    max_daily_requests INTEGER DEFAULT 1000,
    max_monthly_tokens INTEGER DEFAULT 1000000,
    current_month_tokens INTEGER DEFAULT 0,
    is_active BOOLEAN DEFAULT TRUE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

create table if not exists agent.users (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email VARCHAR(255) UNIQUE NOT NULL,
    name VARCHAR(100),
    password_hash VARCHAR(255),
    api_key_hash VARCHAR(255) UNIQUE,
    organization_id UUID REFERENCES agent.organizations(id),
    role VARCHAR(50) DEFAULT 'user',
    preferences JSONB DEFAULT '{}',
    language VARCHAR(10) DEFAULT 'KOR',
    is_active BOOLEAN DEFAULT TRUE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    last_login_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT valid_role CHECK (role IN ('admin', 'manager', 'user', 'viewer'))
);
create index if not exists idx_users_email on agent.users(email);
create index if not exists idx_users_organization_id on agent.users(organization_id);
-- Addition: the user list of an organization pages by (created_at, id).
create index if not exists idx_users_org_created on agent.users(organization_id, created_at, id);

-- Addition on every table below that belongs to an organization: organization_id (not null,
-- referencing organizations), so row-level security isolates organizations with a comparison
-- on the row itself instead of a join through sessions and users on every read. The API fills
-- it from the caller's organization; policies check it.

create table if not exists agent.sessions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID REFERENCES agent.users(id),
    status VARCHAR(20) NOT NULL DEFAULT 'active',
    language VARCHAR(10) DEFAULT 'KOR',
    initial_input TEXT,
    current_context JSONB DEFAULT '{}',
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    expires_at TIMESTAMP WITH TIME ZONE,
    organization_id UUID NOT NULL REFERENCES agent.organizations(id),
    CONSTRAINT valid_status CHECK (status IN ('active', 'completed', 'expired', 'error'))
);
create index if not exists idx_sessions_user_id on agent.sessions(user_id);
create index if not exists idx_sessions_status on agent.sessions(status);
create index if not exists idx_sessions_created_at on agent.sessions(created_at);
create index if not exists idx_sessions_active on agent.sessions(user_id, created_at) where status = 'active';
create index if not exists idx_sessions_organization_id on agent.sessions(organization_id);
-- Additions: "my sessions by status, newest first" is one range scan in key order; the expiry
-- job finds active sessions past expires_at without scanning the others.
create index if not exists idx_sessions_user_status_created on agent.sessions(user_id, status, created_at desc, id desc);
create index if not exists idx_sessions_active_expiry on agent.sessions(expires_at) where status = 'active';

create table if not exists agent.plans (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id UUID NOT NULL REFERENCES agent.sessions(id) ON DELETE CASCADE,
    status VARCHAR(20) NOT NULL DEFAULT 'draft',
    current_version INTEGER DEFAULT 1,
    intent JSONB,
    total_todos INTEGER DEFAULT 0,
    completed_todos INTEGER DEFAULT 0,
    failed_todos INTEGER DEFAULT 0,
    estimated_cost DECIMAL(10, 2),
    actual_cost DECIMAL(10, 2),
    estimated_duration_seconds INTEGER,
    actual_duration_seconds INTEGER,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    started_at TIMESTAMP WITH TIME ZONE,
    completed_at TIMESTAMP WITH TIME ZONE,
    organization_id UUID NOT NULL REFERENCES agent.organizations(id),
    CONSTRAINT valid_plan_status CHECK (status IN (
        'draft', 'approved', 'executing', 'paused',
        'waiting', 'completed', 'failed', 'cancelled'
    ))
);
create index if not exists idx_plans_session_id on agent.plans(session_id);
create index if not exists idx_plans_status on agent.plans(status);
create index if not exists idx_plans_organization_id on agent.plans(organization_id);

create table if not exists agent.plan_versions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    plan_id UUID NOT NULL REFERENCES agent.plans(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    todos_snapshot JSONB NOT NULL,
    change_type VARCHAR(20) NOT NULL,
    change_reason TEXT,
    changed_by VARCHAR(50),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    organization_id UUID NOT NULL REFERENCES agent.organizations(id),
    CONSTRAINT valid_change_type CHECK (change_type IN (
        'create', 'replan', 'user_edit', 'auto_adjust'
    )),
    UNIQUE (plan_id, version)
);
create index if not exists idx_plan_versions_plan_id on agent.plan_versions(plan_id);
create index if not exists idx_plan_versions_organization_id on agent.plan_versions(organization_id);

create table if not exists agent.todos (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    plan_id UUID NOT NULL REFERENCES agent.plans(id) ON DELETE CASCADE,
    title VARCHAR(255) NOT NULL,
    description TEXT,
    status VARCHAR(20) NOT NULL DEFAULT 'pending',
    priority INTEGER DEFAULT 5 CHECK (priority BETWEEN 0 AND 10),
    layer VARCHAR(50) NOT NULL,
    tool_name VARCHAR(100),
    tool_params JSONB DEFAULT '{}',
    depends_on UUID[] DEFAULT '{}',
    blocks UUID[] DEFAULT '{}',
    timeout_seconds INTEGER DEFAULT 300,
    max_retries INTEGER DEFAULT 3,
    retry_count INTEGER DEFAULT 0,
    progress_percentage INTEGER DEFAULT 0 CHECK (progress_percentage BETWEEN 0 AND 100),
    error_message TEXT,
    requires_approval BOOLEAN DEFAULT FALSE,
    approved_by UUID REFERENCES agent.users(id),
    approved_at TIMESTAMP WITH TIME ZONE,
    rejection_reason TEXT,
    input_data JSONB,
    output_path TEXT,
    result_data JSONB,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    started_at TIMESTAMP WITH TIME ZONE,
    completed_at TIMESTAMP WITH TIME ZONE,
    execution_order INTEGER,
    organization_id UUID NOT NULL REFERENCES agent.organizations(id),
    CONSTRAINT valid_todo_status CHECK (status IN (
        'pending', 'in_progress', 'completed', 'failed',
        'blocked', 'skipped', 'needs_approval', 'cancelled'
    ))
);
create index if not exists idx_todos_plan_id on agent.todos(plan_id);
create index if not exists idx_todos_status on agent.todos(status);
create index if not exists idx_todos_layer on agent.todos(layer);
create index if not exists idx_todos_execution_order on agent.todos(plan_id, execution_order);
create index if not exists idx_todos_plan_status on agent.todos(plan_id, status);
create index if not exists idx_todos_plan_layer on agent.todos(plan_id, layer);
create index if not exists idx_todos_pending on agent.todos(plan_id, execution_order) where status = 'pending';
create index if not exists idx_todos_organization_id on agent.todos(organization_id);
-- Addition: the timeout job finds in-progress todos by start time without scanning the rest.
create index if not exists idx_todos_in_progress_started on agent.todos(started_at) where status = 'in_progress';

create table if not exists agent.execution_results (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    todo_id UUID NOT NULL REFERENCES agent.todos(id) ON DELETE CASCADE,
    plan_id UUID NOT NULL REFERENCES agent.plans(id) ON DELETE CASCADE,
    session_id UUID NOT NULL REFERENCES agent.sessions(id) ON DELETE CASCADE,
    success BOOLEAN NOT NULL,
    result_data JSONB,
    error_message TEXT,
    error_stack TEXT,
    execution_time_ms INTEGER NOT NULL,
    started_at TIMESTAMP WITH TIME ZONE NOT NULL,
    completed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    tool_name VARCHAR(100),
    tool_version VARCHAR(20),
    tokens_used INTEGER,
    api_calls_count INTEGER,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    organization_id UUID NOT NULL REFERENCES agent.organizations(id)
);
create index if not exists idx_execution_results_todo_id on agent.execution_results(todo_id);
create index if not exists idx_execution_results_plan_id on agent.execution_results(plan_id);
create index if not exists idx_execution_results_session_id on agent.execution_results(session_id);
create index if not exists idx_execution_results_success on agent.execution_results(success);
create index if not exists idx_execution_results_plan_success on agent.execution_results(plan_id, success);
create index if not exists idx_execution_results_organization_id on agent.execution_results(organization_id);

create table if not exists agent.hitl_events (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id UUID NOT NULL REFERENCES agent.sessions(id) ON DELETE CASCADE,
    plan_id UUID REFERENCES agent.plans(id) ON DELETE SET NULL,
    todo_id UUID REFERENCES agent.todos(id) ON DELETE SET NULL,
    event_type VARCHAR(50) NOT NULL,
    event_data JSONB DEFAULT '{}',
    user_id UUID REFERENCES agent.users(id),
    user_input TEXT,
    user_decision VARCHAR(50),
    requested_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    responded_at TIMESTAMP WITH TIME ZONE,
    timeout_at TIMESTAMP WITH TIME ZONE,
    status VARCHAR(20) DEFAULT 'pending',
    organization_id UUID NOT NULL REFERENCES agent.organizations(id),
    CONSTRAINT valid_event_type CHECK (event_type IN (
        'plan_review', 'approval_request', 'input_request',
        'pause', 'resume', 'cancel', 'edit', 'replan'
    )),
    CONSTRAINT valid_event_status CHECK (status IN (
        'pending', 'completed', 'timeout', 'cancelled'
    ))
);
create index if not exists idx_hitl_events_session_id on agent.hitl_events(session_id);
create index if not exists idx_hitl_events_event_type on agent.hitl_events(event_type);
create index if not exists idx_hitl_events_status on agent.hitl_events(status);
create index if not exists idx_hitl_events_session_status on agent.hitl_events(session_id, status);
create index if not exists idx_hitl_events_organization_id on agent.hitl_events(organization_id);
-- Addition: the timeout job finds pending events past timeout_at without scanning the rest.
create index if not exists idx_hitl_events_pending_timeout on agent.hitl_events(timeout_at) where status = 'pending';

create table if not exists agent.tools (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(100) NOT NULL UNIQUE,
    display_name VARCHAR(200),
    description TEXT,
    type VARCHAR(20) NOT NULL,
    layer VARCHAR(50) NOT NULL,
    parameters_schema JSONB NOT NULL DEFAULT '[]',
    output_schema JSONB,
    executor_class VARCHAR(255) NOT NULL,
    timeout_seconds INTEGER DEFAULT 300,
    tags TEXT[] DEFAULT '{}',
    version VARCHAR(20) DEFAULT '1.0.0',
    dependencies TEXT[] DEFAULT '{}',
    is_active BOOLEAN DEFAULT TRUE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    -- Addition: the organization whose admins manage the tool, or null for a tool shared by
    -- every organization (operators manage those). Names stay one namespace (UNIQUE above).
    organization_id UUID REFERENCES agent.organizations(id),
    CONSTRAINT valid_tool_type CHECK (type IN ('data', 'analysis', 'content', 'business'))
);
create index if not exists idx_tools_name on agent.tools(name);
create index if not exists idx_tools_type on agent.tools(type);
create index if not exists idx_tools_layer on agent.tools(layer);
create index if not exists idx_tools_is_active on agent.tools(is_active);
create index if not exists idx_tools_organization_id on agent.tools(organization_id);

create table if not exists agent.tool_executions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    tool_id UUID REFERENCES agent.tools(id),
    tool_name VARCHAR(100) NOT NULL,
    session_id UUID REFERENCES agent.sessions(id),
    todo_id UUID REFERENCES agent.todos(id),
    input_params JSONB,
    output_data JSONB,
    success BOOLEAN NOT NULL,
    error_message TEXT,
    execution_time_ms INTEGER,
    started_at TIMESTAMP WITH TIME ZONE NOT NULL,
    completed_at TIMESTAMP WITH TIME ZONE,
    tokens_used INTEGER,
    cost_usd DECIMAL(10, 6),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    organization_id UUID NOT NULL REFERENCES agent.organizations(id)
);
create index if not exists idx_tool_executions_tool_id on agent.tool_executions(tool_id);
create index if not exists idx_tool_executions_session_id on agent.tool_executions(session_id);
create index if not exists idx_tool_executions_created_at on agent.tool_executions(created_at);
create index if not exists idx_tool_executions_organization_id on agent.tool_executions(organization_id);
-- Addition: todo_id references todos; without an index deleting a plan's todos scans this table.
create index if not exists idx_tool_executions_todo_id on agent.tool_executions(todo_id);

create table if not exists agent.usage_metrics (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id UUID REFERENCES agent.organizations(id),
    user_id UUID REFERENCES agent.users(id),
    session_id UUID REFERENCES agent.sessions(id),
    metric_type VARCHAR(50) NOT NULL,
    metric_value DECIMAL(15, 4),
    metric_data JSONB,
    recorded_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    period_start TIMESTAMP WITH TIME ZONE,
    period_end TIMESTAMP WITH TIME ZONE,
    CONSTRAINT valid_metric_type CHECK (metric_type IN (
        'token_usage', 'api_calls', 'execution_time',
        'plan_count', 'todo_count', 'success_rate'
    ))
);
create index if not exists idx_usage_metrics_org_id on agent.usage_metrics(organization_id);
create index if not exists idx_usage_metrics_user_id on agent.usage_metrics(user_id);
create index if not exists idx_usage_metrics_recorded_at on agent.usage_metrics(recorded_at);
create index if not exists idx_usage_metrics_type on agent.usage_metrics(metric_type);

create table if not exists agent.feedback (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id UUID REFERENCES agent.sessions(id),
    plan_id UUID REFERENCES agent.plans(id),
    user_id UUID REFERENCES agent.users(id),
    rating INTEGER CHECK (rating BETWEEN 1 AND 5),
    feedback_type VARCHAR(50),
    comment TEXT,
    context_data JSONB,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    organization_id UUID NOT NULL REFERENCES agent.organizations(id)
);
create index if not exists idx_feedback_session_id on agent.feedback(session_id);
create index if not exists idx_feedback_user_id on agent.feedback(user_id);
create index if not exists idx_feedback_organization_id on agent.feedback(organization_id);
-- Addition: plan_id references plans and feedback is aggregated per plan.
create index if not exists idx_feedback_plan_id on agent.feedback(plan_id);

-- ---------------------------------------------------------------------------------------------
-- Identity helpers. Plain SQL so the planner can inline them into policies; the API computes the
-- same answers (src/agent/access.ts), so a role check means the same in both places.
-- ---------------------------------------------------------------------------------------------

-- The caller's organization: the token's tenant_id when it is a UUID (an agent organization's id),
-- else none. Never an error: a tenant of another system simply belongs to no organization here.
create or replace function agent.caller_org() returns uuid
language sql stable
as $$
  select case when t ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then t::uuid end
  from (select app.tenant_id() as t) as tenant
$$;

-- The caller's agent role: the highest of admin > manager > user > viewer among the token's roles
-- (an API key's principal carries its user's users.role); a caller with none of them is a user.
create or replace function agent.caller_role() returns text
language sql stable
as $$
  select case
    when app.has_role('admin') then 'admin'
    when app.has_role('manager') then 'manager'
    when app.has_role('user') then 'user'
    when app.has_role('viewer') then 'viewer'
    else 'user'
  end
$$;

-- Whether the caller is an active, provisioned user of their organization (writes need it).
create or replace function agent.caller_is_member() returns boolean
language sql stable
as $$
  select exists (
    select 1 from agent.users u
    where u.id = app.user_id() and u.organization_id = agent.caller_org() and u.is_active
  )
$$;

-- The hash of the API key being looked up (src/agent/api-keys.ts): holding the key is what lets
-- a request without a token read the one user row it belongs to.
create or replace function agent.api_key_hash_setting() returns text
language sql stable
as $$
  select nullif(current_setting('app.api_key_hash', true), '')
$$;

grant execute on function agent.caller_org(), agent.caller_role(), agent.caller_is_member(), agent.api_key_hash_setting() to app_api;

-- A user who is not an admin may change only their own name, language, preferences, login time
-- and API key: row-level security can say whose row, not which columns, so this trigger does.
create or replace function agent.users_guard_self_update() returns trigger
language plpgsql
as $$
begin
  if app.has_role('service') or (agent.caller_role() = 'admin' and new.organization_id = agent.caller_org()) then
    return new;
  end if;
  if new.id is distinct from old.id or new.email is distinct from old.email
     or new.organization_id is distinct from old.organization_id or new.role is distinct from old.role
     or new.is_active is distinct from old.is_active or new.password_hash is distinct from old.password_hash then
    raise exception 'only an admin may change a user''s email, organization, role or status'
      using errcode = '42501';
  end if;
  return new;
end
$$;

drop trigger if exists users_guard_self_update on agent.users;
create trigger users_guard_self_update before update on agent.users
  for each row execute function agent.users_guard_self_update();

-- ---------------------------------------------------------------------------------------------
-- Row-level security, enabled and forced on every table. docs/agent.md has the role table.
-- Jobs act as the service role (never in a token); operators create organizations.
-- ---------------------------------------------------------------------------------------------

alter table agent.organizations enable row level security;
alter table agent.organizations force row level security;
drop policy if exists organizations_read on agent.organizations;
create policy organizations_read on agent.organizations for select
  using (id = agent.caller_org() or app.has_role('operator') or app.has_role('service')
         or exists (select 1 from agent.users u where u.organization_id = organizations.id
                    and u.api_key_hash = agent.api_key_hash_setting()));
drop policy if exists organizations_create on agent.organizations;
create policy organizations_create on agent.organizations for insert
  with check (app.has_role('operator'));
drop policy if exists organizations_update on agent.organizations;
create policy organizations_update on agent.organizations for update
  using (app.has_role('operator') or app.has_role('service') or (id = agent.caller_org() and agent.caller_role() = 'admin'))
  with check (app.has_role('operator') or app.has_role('service') or (id = agent.caller_org() and agent.caller_role() = 'admin'));

alter table agent.users enable row level security;
alter table agent.users force row level security;
drop policy if exists users_read on agent.users;
create policy users_read on agent.users for select
  using (organization_id = agent.caller_org() or app.has_role('service')
         or (api_key_hash is not null and api_key_hash = agent.api_key_hash_setting()));
-- Admins provision users into their organization; anyone may provision themselves with their
-- token's role (max_users is checked by the statement, under a per-organization lock).
drop policy if exists users_create on agent.users;
create policy users_create on agent.users for insert
  with check (organization_id = agent.caller_org()
              and (agent.caller_role() = 'admin' or (id = app.user_id() and role = agent.caller_role())));
drop policy if exists users_update on agent.users;
create policy users_update on agent.users for update
  using (organization_id = agent.caller_org() and (agent.caller_role() = 'admin' or id = app.user_id()))
  with check (organization_id = agent.caller_org() and (agent.caller_role() = 'admin' or id = app.user_id()));

alter table agent.sessions enable row level security;
alter table agent.sessions force row level security;
-- Users read their own sessions; managers, admins and viewers read their organization's.
drop policy if exists sessions_read on agent.sessions;
create policy sessions_read on agent.sessions for select
  using (app.has_role('service')
         or (organization_id = agent.caller_org() and (user_id = app.user_id() or agent.caller_role() <> 'user')));
drop policy if exists sessions_create on agent.sessions;
create policy sessions_create on agent.sessions for insert
  with check (organization_id = agent.caller_org() and user_id = app.user_id()
              and agent.caller_role() <> 'viewer' and agent.caller_is_member());
drop policy if exists sessions_update on agent.sessions;
create policy sessions_update on agent.sessions for update
  using (app.has_role('service')
         or (organization_id = agent.caller_org() and user_id = app.user_id() and agent.caller_role() <> 'viewer'))
  with check (app.has_role('service')
              or (organization_id = agent.caller_org() and user_id = app.user_id() and agent.caller_role() <> 'viewer'));

-- The organization's work (plans, versions, todos, results, events, tool runs, feedback): every
-- member reads it, viewers write none of it, jobs reach all of it. The routes that write these
-- tables narrow further (managers approve) and their migrations add those policies.
do $$
declare
  t text;
begin
  foreach t in array array['plans', 'plan_versions', 'todos', 'execution_results', 'hitl_events', 'tool_executions', 'feedback'] loop
    execute format('alter table agent.%I enable row level security', t);
    execute format('alter table agent.%I force row level security', t);
    execute format('drop policy if exists %I on agent.%I', t || '_read', t);
    execute format('create policy %I on agent.%I for select using (organization_id = agent.caller_org() or app.has_role(''service''))', t || '_read', t);
    execute format('drop policy if exists %I on agent.%I', t || '_write', t);
    execute format(
      'create policy %I on agent.%I for all '
      'using (app.has_role(''service'') or (organization_id = agent.caller_org() and agent.caller_role() <> ''viewer'')) '
      'with check (app.has_role(''service'') or (organization_id = agent.caller_org() and agent.caller_role() <> ''viewer'' and agent.caller_is_member()))',
      t || '_write', t);
  end loop;
end
$$;

alter table agent.tools enable row level security;
alter table agent.tools force row level security;
drop policy if exists tools_read on agent.tools;
create policy tools_read on agent.tools for select
  using (organization_id is null or organization_id = agent.caller_org() or app.has_role('operator') or app.has_role('service'));
drop policy if exists tools_write on agent.tools;
create policy tools_write on agent.tools for all
  using (app.has_role('service') or (organization_id is null and app.has_role('operator'))
         or (organization_id = agent.caller_org() and agent.caller_role() = 'admin'))
  with check (app.has_role('service') or (organization_id is null and app.has_role('operator'))
              or (organization_id = agent.caller_org() and agent.caller_role() = 'admin'));

-- Usage rollups are written by the job and read by the organization's admins.
alter table agent.usage_metrics enable row level security;
alter table agent.usage_metrics force row level security;
drop policy if exists usage_metrics_read on agent.usage_metrics;
create policy usage_metrics_read on agent.usage_metrics for select
  using (app.has_role('service') or (organization_id = agent.caller_org() and agent.caller_role() = 'admin'));
drop policy if exists usage_metrics_write on agent.usage_metrics;
create policy usage_metrics_write on agent.usage_metrics for all
  using (app.has_role('service')) with check (app.has_role('service'));
