-- 0007_seedtest: the learning-analytics tables of spec 001 (classroom, session, interest_goal,
-- features_topic_daily) in schema seedtest, column for column as
-- /work/shared/spec/expected/seedtest.sql (the contract: its Alembic migration), then the
-- identity helpers and row-level security. docs/seedtest.md describes the roles.
--
-- As the document chooses, there are no foreign keys: the API keeps references valid where it
-- writes them (a session's classroom is checked in the statement that starts the session; a
-- classroom still referenced by sessions is not deleted). Additions, each explained where it
-- is made: two check constraints, two composite indexes, the helper functions and the policies.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

-- squawk-ignore-file prefer-bigint-over-int
-- classroom.org_id is INTEGER in the document's DDL (the contract checked by schema-conformance).

create table if not exists seedtest.classroom (
  classroom_id text not null primary key,
  name text not null,
  org_id integer null,
  teacher_id text null,
  grade_level text null,
  metadata jsonb null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists ix_classroom_org_id on seedtest.classroom (org_id);
create index if not exists ix_classroom_teacher_id on seedtest.classroom (teacher_id);

create table if not exists seedtest.session (
  session_id text not null primary key,
  user_id text not null,
  classroom_id text null,
  started_at timestamptz not null default now(),
  ended_at timestamptz null,
  session_type text null,
  metadata jsonb null,
  -- Addition: a session cannot end before it starts (the API answers 422 before this fires;
  -- this keeps any other writer honest).
  constraint ck_session_ended_after_started check (ended_at is null or ended_at >= started_at)
);
create index if not exists ix_session_user_id on seedtest.session (user_id);
create index if not exists ix_session_classroom_id on seedtest.session (classroom_id);
create index if not exists ix_session_started_at on seedtest.session (started_at desc);
-- Additions: the session lists are "by user (or classroom), newest first, keyset-paginated";
-- these serve filter, order and cursor from one index instead of sorting every match.
create index if not exists ix_session_user_started on seedtest.session (user_id, started_at desc, session_id desc);
create index if not exists ix_session_classroom_started on seedtest.session (classroom_id, started_at desc, session_id desc);

create table if not exists seedtest.interest_goal (
  user_id text not null,
  topic_id text not null,
  interest_level numeric null,
  goal_target numeric null,
  set_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint pk_interest_goal primary key (user_id, topic_id),
  -- Addition: the document's scale is 0-1; the API answers 422 outside it before this fires.
  constraint ck_interest_goal_level_range check (interest_level is null or (interest_level >= 0 and interest_level <= 1))
);
create index if not exists ix_interest_goal_user_set_at on seedtest.interest_goal (user_id, set_at desc);

create table if not exists seedtest.features_topic_daily (
  user_id text not null,
  topic_id text not null,
  date date not null,
  features jsonb not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint pk_features_topic_daily primary key (user_id, topic_id, date)
);
create index if not exists ix_features_topic_daily_user_date on seedtest.features_topic_daily (user_id, date desc);
create index if not exists ix_features_topic_daily_topic_date on seedtest.features_topic_daily (topic_id, date desc);

grant select, insert, update, delete on all tables in schema seedtest to app_api;

-- Identity helpers for the policies below. user_id/teacher_id columns are TEXT in the document;
-- the API writes the caller's JWT sub there in canonical (lowercase) UUID form, which is what
-- app.user_id()::text gives. The org of a caller is their JWT tenant_id when it is a decimal
-- integer (classroom.org_id is an integer); any other tenant means "no org".
create or replace function seedtest.caller_id() returns text
language sql stable
as $$
  select app.user_id()::text
$$;

create or replace function seedtest.caller_org() returns integer
language sql stable
as $$
  -- Nested CASE: its order of evaluation is guaranteed, so the cast only sees digits.
  select case when t ~ '^[0-9]{1,10}$' then case when t::bigint <= 2147483647 then t::integer end end
  from (select app.tenant_id() as t) as tenant
$$;

-- A caller with an identity and the admin role: reads and writes every row of these tables.
create or replace function seedtest.is_admin() returns boolean
language sql stable
as $$
  select app.user_id() is not null and app.has_role('admin')
$$;

-- True when the caller is a teacher of the classroom: its teacher, or a teacher of its org.
create or replace function seedtest.teaches_classroom(classroom_org integer, classroom_teacher text) returns boolean
language sql stable
as $$
  select app.user_id() is not null and app.has_role('teacher')
     and (classroom_teacher = app.user_id()::text or classroom_org = seedtest.caller_org())
$$;

-- True when the caller teaches the learner: the learner has a session in a classroom the caller
-- teaches. Runs as the caller, so it sees only the sessions and classrooms the caller may see.
create or replace function seedtest.teaches_learner(learner text) returns boolean
language sql stable
as $$
  select app.user_id() is not null and app.has_role('teacher') and exists (
    select 1
    from seedtest.session s
    join seedtest.classroom c on c.classroom_id = s.classroom_id
    where s.user_id = learner and seedtest.teaches_classroom(c.org_id, c.teacher_id)
  )
$$;

grant execute on function seedtest.caller_id(), seedtest.caller_org(), seedtest.is_admin(),
  seedtest.teaches_classroom(integer, text), seedtest.teaches_learner(text) to app_api;

-- Row-level security, enabled and forced (policies bind the owner too; only superusers and
-- BYPASSRLS roles skip them). Without an identity every helper is false or NULL: nothing is
-- visible or writable. The daily features job runs as the service identity (role service,
-- docs/seedtest.md).
alter table seedtest.classroom enable row level security;
alter table seedtest.classroom force row level security;
alter table seedtest.session enable row level security;
alter table seedtest.session force row level security;
alter table seedtest.interest_goal enable row level security;
alter table seedtest.interest_goal force row level security;
alter table seedtest.features_topic_daily enable row level security;
alter table seedtest.features_topic_daily force row level security;

-- CREATE POLICY has no IF NOT EXISTS: each policy is created only when missing.
do $$
declare
  t text;
  p record;
begin
  -- Admins: every row of every table.
  foreach t in array array['classroom', 'session', 'interest_goal', 'features_topic_daily'] loop
    if not exists (select 1 from pg_catalog.pg_policies
                   where schemaname = 'seedtest' and tablename = t and policyname = t || '_admin') then
      execute format(
        'create policy %I on seedtest.%I for all
           using ((select seedtest.is_admin()))
           with check ((select seedtest.is_admin()))',
        t || '_admin', t);
    end if;
  end loop;

  for p in
    select * from (values
      -- Members of a classroom's org (learners too: they start sessions in it) and its teacher read it.
      ('classroom', 'classroom_member_read', 'select',
       'org_id = (select seedtest.caller_org()) or teacher_id = (select seedtest.caller_id())', null),
      -- Teachers manage the classrooms of their org and the ones they teach.
      ('classroom', 'classroom_teacher_write', 'all',
       'seedtest.teaches_classroom(org_id, teacher_id)', 'seedtest.teaches_classroom(org_id, teacher_id)'),
      -- Learners own their sessions and goals.
      ('session', 'session_owner', 'all',
       'user_id = (select seedtest.caller_id())', 'user_id = (select seedtest.caller_id())'),
      ('interest_goal', 'interest_goal_owner', 'all',
       'user_id = (select seedtest.caller_id())', 'user_id = (select seedtest.caller_id())'),
      -- Features are computed, not self-reported: learners read theirs only.
      ('features_topic_daily', 'features_topic_daily_owner_read', 'select',
       'user_id = (select seedtest.caller_id())', null),
      -- Teachers read the sessions held in classrooms they teach...
      ('session', 'session_teacher_read', 'select',
       'exists (select 1 from seedtest.classroom c where c.classroom_id = session.classroom_id
                and seedtest.teaches_classroom(c.org_id, c.teacher_id))', null),
      -- ...and the goals and features of the learners they teach.
      ('interest_goal', 'interest_goal_teacher_read', 'select', 'seedtest.teaches_learner(user_id)', null),
      ('features_topic_daily', 'features_topic_daily_teacher_read', 'select', 'seedtest.teaches_learner(user_id)', null),
      -- The cron jobs' service identity (role service, as in hub; the API refuses tokens that
      -- carry it) writes the daily features of every learner.
      ('features_topic_daily', 'features_topic_daily_service', 'all',
       '(select app.user_id()) is not null and (select app.has_role(''service''))',
       '(select app.user_id()) is not null and (select app.has_role(''service''))')
    ) as v(tbl, name, cmd, using_expr, check_expr)
  loop
    if not exists (select 1 from pg_catalog.pg_policies
                   where schemaname = 'seedtest' and tablename = p.tbl and policyname = p.name) then
      execute format('create policy %I on seedtest.%I for %s using (%s)%s',
                     p.name, p.tbl, p.cmd, p.using_expr,
                     case when p.check_expr is null then '' else format(' with check (%s)', p.check_expr) end);
    end if;
  end loop;
end $$;
