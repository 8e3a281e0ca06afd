-- 0002_exam: the exam-prep schema of spec 000 §25.1, column for column as
-- /work/shared/spec/expected/exam.sql (the contract), then row-level security.
--
-- The DDL keeps the document's wording (inline check/unique/references) so Postgres names the
-- constraints exactly as it does for the document. Ids have no default, as in the document: the
-- API generates them. The one addition is idx_plans_user_id (see below).

set local lock_timeout = '5s';
set local statement_timeout = '60s';

-- squawk-ignore-file prefer-bigint-over-int
-- The int columns (scores, counters, minutes) are the spec's contract; see .squawk.toml.

create table if not exists exam.exam_profiles (
  id uuid primary key,
  user_id uuid not null unique,
  level text not null check (level in ('FUTURE','JUNIOR','BASIC','ASSOCIATE','PROFESSIONAL')),
  exam_date date not null,
  target_type text not null check (target_type in ('PASS_FIRST','HIGH_SCORE','PRACTICAL')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table if not exists exam.plans (
  id uuid primary key,
  user_id uuid not null,
  exam_profile_id uuid not null references exam.exam_profiles(id),
  start_date date not null,
  exam_date date not null,
  compression_flag boolean not null default false,
  ready_index_snapshot int not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
-- Addition: every learner query on plans filters on user_id through the RLS policy below, and
-- the document gives plans no index that starts with user_id.
create index if not exists idx_plans_user_id on exam.plans(user_id);

create table if not exists exam.plan_tasks (
  id uuid primary key,
  plan_id uuid not null references exam.plans(id) on delete cascade,
  task_date date not null,
  task_type text not null check (task_type in ('DRILL','LAB','REVIEW','MOCK')),
  ref_id uuid null,
  status text not null check (status in ('TODO','DONE','SKIPPED')),
  est_minutes int not null check (est_minutes > 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists idx_plan_tasks_plan_date on exam.plan_tasks(plan_id, task_date);

create table if not exists exam.sessions (
  id uuid primary key,
  user_id uuid not null,
  lab_id uuid not null,
  level text not null check (level in ('FUTURE','JUNIOR','BASIC','ASSOCIATE','PROFESSIONAL')),
  engine_type text not null check (engine_type in ('BLOCK','GUI','JUPYTER')),
  policy_id uuid not null,
  mode text not null check (mode in ('PRACTICE','PRACTICE_PLUS','MOCK')),
  status text not null check (status in ('CREATED','RUNNING','PAUSED','SUBMITTED','REVIEWED','CLOSED','FORCE_CLOSED','ABANDONED')),
  started_at timestamptz null,
  ended_at timestamptz null,
  final_score int null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists idx_sessions_user_created on exam.sessions(user_id, created_at desc);

create table if not exists exam.step_submissions (
  id uuid primary key,
  session_id uuid not null references exam.sessions(id) on delete cascade,
  step_no int not null check (step_no > 0),
  attempt_no int not null check (attempt_no > 0),
  result text not null check (result in ('PASS','FAIL','PARTIAL')),
  score int not null default 0,
  error_codes text[] not null default '{}',
  runtime_ms int not null default 0,
  code_snapshot_ref text null,
  created_at timestamptz not null default now(),
  unique(session_id, step_no, attempt_no)
);
create index if not exists idx_step_submissions_session_step on exam.step_submissions(session_id, step_no);

create table if not exists exam.audit_policy_events (
  id uuid primary key,
  user_id uuid not null,
  session_id uuid null,
  policy_id uuid null,
  action text not null,
  verdict text not null check (verdict in ('ALLOW','WARN','BLOCK')),
  reason_code text null,
  client_ip inet null,
  user_agent text null,
  created_at timestamptz not null default now()
);
create index if not exists idx_audit_policy_events_user_created on exam.audit_policy_events(user_id, created_at desc);

-- The API's access. 0001's default privileges cover tables made by the role that ran 0001; the
-- explicit grant keeps this right when another role runs this migration.
grant select, insert, update, delete on all tables in schema exam to app_api;

-- Row-level security. FORCE makes the policies bind the tables' owner too; only superusers and
-- BYPASSRLS roles (migrations, operators) skip them. Policies have no TO clause: they describe
-- which rows a request may touch whichever role it runs as. With no app.user_id every
-- app.user_id() comparison is NULL, so a request without identity sees and changes nothing; admin
-- and proctor reads also require an identity.
-- (select app.user_id()) is evaluated once per statement instead of once per row.
alter table exam.exam_profiles enable row level security;
alter table exam.exam_profiles force row level security;
alter table exam.plans enable row level security;
alter table exam.plans force row level security;
alter table exam.plan_tasks enable row level security;
alter table exam.plan_tasks force row level security;
alter table exam.sessions enable row level security;
alter table exam.sessions force row level security;
alter table exam.step_submissions enable row level security;
alter table exam.step_submissions force row level security;
alter table exam.audit_policy_events enable row level security;
alter table exam.audit_policy_events force row level security;

-- CREATE POLICY has no IF NOT EXISTS: each policy is created only when missing.
do $$
declare
  t text;
begin
  -- Tables with their own user_id: the learner owns rows carrying their id.
  foreach t in array array['exam_profiles', 'plans', 'sessions', 'audit_policy_events'] loop
    if not exists (select 1 from pg_catalog.pg_policies
                   where schemaname = 'exam' and tablename = t and policyname = t || '_owner') then
      execute format(
        'create policy %I on exam.%I for all
           using (user_id = (select app.user_id()))
           with check (user_id = (select app.user_id()))',
        t || '_owner', t);
    end if;
  end loop;

  -- Every exam table: admins read everything.
  foreach t in array array['exam_profiles', 'plans', 'plan_tasks', 'sessions', 'step_submissions',
                           'audit_policy_events'] loop
    if not exists (select 1 from pg_catalog.pg_policies
                   where schemaname = 'exam' and tablename = t and policyname = t || '_admin_read') then
      execute format(
        'create policy %I on exam.%I for select
           using ((select app.user_id()) is not null and app.has_role(''admin''))',
        t || '_admin_read', t);
    end if;
  end loop;

  -- Child tables belong to the owner of their parent row.
  if not exists (select 1 from pg_catalog.pg_policies
                 where schemaname = 'exam' and policyname = 'plan_tasks_owner') then
    create policy plan_tasks_owner on exam.plan_tasks for all
      using (exists (select 1 from exam.plans p
                     where p.id = plan_tasks.plan_id and p.user_id = (select app.user_id())))
      with check (exists (select 1 from exam.plans p
                          where p.id = plan_tasks.plan_id and p.user_id = (select app.user_id())));
  end if;
  if not exists (select 1 from pg_catalog.pg_policies
                 where schemaname = 'exam' and policyname = 'step_submissions_owner') then
    create policy step_submissions_owner on exam.step_submissions for all
      using (exists (select 1 from exam.sessions s
                     where s.id = step_submissions.session_id and s.user_id = (select app.user_id())))
      with check (exists (select 1 from exam.sessions s
                          where s.id = step_submissions.session_id and s.user_id = (select app.user_id())));
  end if;

  -- Proctors review the policy audit trail of every learner.
  if not exists (select 1 from pg_catalog.pg_policies
                 where schemaname = 'exam' and policyname = 'audit_policy_events_proctor_read') then
    create policy audit_policy_events_proctor_read on exam.audit_policy_events for select
      using ((select app.user_id()) is not null and app.has_role('proctor'));
  end if;
end $$;
