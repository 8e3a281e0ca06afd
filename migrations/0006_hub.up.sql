-- 0006_hub: the student hub of spec 004, column for column as /work/shared/spec/expected/hub.sql
-- (the contract; the document's tables live in the `hub` schema instead of `public`), its
-- partition lifecycle functions, and row-level security.
--
-- Additions beyond the document, each for a stated reason (docs/hub.md has the whole picture):
--   students.user_id              the JWT `sub` of the student's own account: how a student token
--                                 is mapped to its student row (nullable: staff create students
--                                 before they have accounts).
--   learning_history.event_id     the client-supplied event id that makes a retried ingest batch
--                                 a no-op; unique together with occurred_at because a unique index
--                                 on a partitioned table must contain the partition key.
--   scheduled_tasks.interval_seconds  the period of schedule_type 'interval' (the document has
--                                 cron_expression for 'cron' but no column for an interval).
--   hub.task_runs                 the stored output of each scheduled-task run (the daily report,
--                                 the weekly aggregates); scheduled_tasks.celery_task_id holds the
--                                 id of the run that last executed the task.
--   idx_lh_student_id ... are the document's; uq_lh_event_id, idx_students_user_id and
--   idx_task_runs_task_created serve the additions.
--
-- The document types timestamps as TIMESTAMP (no time zone, UTC by its §1.1), ints as INTEGER and
-- strings as VARCHAR(n): that is the contract schema-conformance checks, so the rules preferring
-- timestamptz, bigint and text are ignored for this file.
-- squawk-ignore-file prefer-timestamptz, prefer-bigint-over-int, prefer-text-field, prefer-identity, require-concurrent-index-creation
-- (prefer-identity: learning_history.id is the document's BIGSERIAL; require-concurrent-index-creation:
-- every index here is on a table this file creates, and partitioned tables cannot index concurrently.)

set local lock_timeout = '5s';
set local statement_timeout = '60s';

create table if not exists hub.students (
  id uuid primary key default gen_random_uuid(),
  name varchar(100) not null,
  school_id varchar(50) not null,
  grade integer not null,
  class_name varchar(50),
  student_number varchar(20),
  email varchar(255),
  parent_contact varchar(20),
  metadata jsonb default '{}'::jsonb not null,
  created_at timestamp not null default now(),
  updated_at timestamp not null default now(),
  user_id uuid,
  constraint students_grade_check check (grade >= 1 and grade <= 12),
  constraint students_unique_identifier unique (school_id, grade, class_name, student_number)
);
create index if not exists idx_students_school_id on hub.students(school_id);
create index if not exists idx_students_grade_class on hub.students(grade, class_name);
create index if not exists idx_students_created_at on hub.students(created_at desc);
create index if not exists idx_students_metadata_gin on hub.students using gin (metadata);
create index if not exists idx_students_name_trgm on hub.students using gin (name public.gin_trgm_ops);
-- Addition: one student row per account.
create unique index if not exists idx_students_user_id on hub.students(user_id);

create table if not exists hub.learning_history (
  id bigserial,
  occurred_at timestamp not null,
  student_id uuid not null,
  event_type varchar(50) not null,
  source_node integer not null,
  source_id varchar(255),
  content jsonb not null,
  created_at timestamp not null default now(),
  event_id uuid,
  primary key (id, occurred_at),
  foreign key (student_id) references hub.students(id) on delete cascade,
  constraint learning_history_source_node_check check (source_node >= 1 and source_node <= 6),
  constraint learning_history_event_type_check check (
    event_type in ('study', 'test', 'intervention', 'review', 'assessment')
  )
) partition by range (occurred_at);
create index if not exists idx_lh_student_id on hub.learning_history(student_id);
create index if not exists idx_lh_student_occurred on hub.learning_history(student_id, occurred_at desc);
create index if not exists idx_lh_event_type on hub.learning_history(event_type);
create index if not exists idx_lh_occurred_at on hub.learning_history(occurred_at desc);
create index if not exists idx_lh_content_gin on hub.learning_history using gin (content);
create index if not exists idx_lh_student_event on hub.learning_history(student_id, event_type, occurred_at desc);
-- Addition: ingest idempotency (ON CONFLICT (event_id, occurred_at) DO NOTHING).
create unique index if not exists uq_lh_event_id on hub.learning_history(event_id, occurred_at);

create table if not exists hub.interventions (
  id uuid primary key default gen_random_uuid(),
  student_id uuid not null,
  type varchar(50) not null,
  weak_areas jsonb not null,
  learning_path jsonb not null,
  status varchar(20) not null default 'active',
  progress jsonb default '{"completed": 0, "total": 0}'::jsonb not null,
  created_at timestamp not null default now(),
  completed_at timestamp,
  foreign key (student_id) references hub.students(id) on delete cascade,
  constraint interventions_type_check check (type in ('auto', 'teacher_requested')),
  constraint interventions_status_check check (status in ('active', 'paused', 'completed', 'cancelled'))
);
create index if not exists idx_interventions_student_id on hub.interventions(student_id);
create index if not exists idx_interventions_status on hub.interventions(status);
create index if not exists idx_interventions_created_at on hub.interventions(created_at desc);
create index if not exists idx_interventions_student_status on hub.interventions(student_id, status);
create index if not exists idx_interventions_active on hub.interventions(student_id, created_at desc) where status = 'active';

create table if not exists hub.scheduled_tasks (
  id uuid primary key default gen_random_uuid(),
  student_id uuid,
  task_type varchar(50) not null,
  schedule_type varchar(20) not null,
  cron_expression varchar(100),
  config jsonb default '{}'::jsonb not null,
  status varchar(20) not null default 'active',
  next_run_at timestamp,
  last_run_at timestamp,
  celery_task_id varchar(255),
  created_at timestamp not null default now(),
  interval_seconds integer,
  foreign key (student_id) references hub.students(id) on delete cascade,
  constraint scheduled_tasks_schedule_type_check check (
    schedule_type in ('cron', 'interval', 'one_time')
  ),
  constraint scheduled_tasks_status_check check (
    status in ('active', 'paused', 'completed')
  ),
  -- Addition (with its column): an interval is a positive number of seconds.
  constraint scheduled_tasks_interval_seconds_check check (interval_seconds > 0)
);
create index if not exists idx_scheduled_tasks_student_id on hub.scheduled_tasks(student_id);
create index if not exists idx_scheduled_tasks_next_run on hub.scheduled_tasks(next_run_at) where status = 'active';
create index if not exists idx_scheduled_tasks_type_status on hub.scheduled_tasks(task_type, status);
create index if not exists idx_scheduled_tasks_created_at on hub.scheduled_tasks(created_at desc);

-- Addition: one row per executed task run, holding what it produced.
create table if not exists hub.task_runs (
  id uuid primary key,
  task_id uuid not null references hub.scheduled_tasks(id) on delete cascade,
  student_id uuid references hub.students(id) on delete cascade,
  task_type varchar(50) not null,
  report jsonb not null,
  scheduled_for timestamp not null,
  created_at timestamp not null default now()
);
create index if not exists idx_task_runs_task_created on hub.task_runs(task_id, created_at desc);
create index if not exists idx_task_runs_student_id on hub.task_runs(student_id);

grant select, insert, update, delete on hub.students, hub.learning_history, hub.interventions,
  hub.scheduled_tasks, hub.task_runs to app_api;
grant usage, select on sequence hub.learning_history_id_seq to app_api;

-- ---------------------------------------------------------------------------------------------
-- Partition lifecycle (§5, §8). The API role owns nothing and cannot create or move tables, so
-- these run as SECURITY DEFINER (their owner, the migrating role) with a pinned search_path, and
-- the archive functions check who calls: any request may add a month's partition (ingest does, in
-- its own batch), only the service identity of the jobs or an admin may archive or read the
-- archive. Partitions are reached through hub.learning_history only: default privileges would
-- grant the API direct access to each new partition, bypassing the parent's row-level security,
-- so every partition's grants are revoked when it is made.
-- ---------------------------------------------------------------------------------------------

-- Returns true when it created the partition (false when it already existed). Any API caller may
-- run it (ingest does); the month range keeps a caller from making partitions without end.
-- All partition DDL (creating, archiving) serializes on one transaction advisory lock, taken before
-- any lock on the parent: per-month locks could deadlock two batches that each created one month
-- (holding the parent) and then waited for the other's month. The loser of a race sees the
-- winner's committed table. Only hub's own partitions count: an archived month of the same name
-- is merged back by the archive job.
create or replace function hub.create_learning_history_partition(partition_date date)
returns boolean
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  partition_name text := 'learning_history_' || to_char(partition_date, 'YYYY_MM');
  start_date date := date_trunc('month', partition_date)::date;
  end_date date := (date_trunc('month', partition_date) + interval '1 month')::date;
begin
  if partition_date < date '2000-01-01' or partition_date > (current_date + interval '2 years') then
    raise exception 'partition month % is outside 2000-01 .. two years ahead', to_char(partition_date, 'YYYY-MM')
      using errcode = '22008';
  end if;
  perform pg_advisory_xact_lock(hashtext('hub.learning_history'), 0);
  if exists (
    select 1 from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    join pg_namespace n on n.oid = c.relnamespace
    where i.inhparent = 'hub.learning_history'::regclass and n.nspname = 'hub' and c.relname = partition_name
  ) then
    return false;
  end if;
  execute format('create table hub.%I partition of hub.learning_history for values from (%L) to (%L)',
                 partition_name, start_date, end_date);
  execute format('revoke all on hub.%I from app_api', partition_name);
  return true;
end
$$;

-- The months an ingest batch needs, created when missing; returns the names it created.
create or replace function hub.ensure_learning_history_partitions(months date[])
returns text[]
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  m date;
  created text[] := '{}';
begin
  -- The common case (every month exists) takes no lock at all.
  if not exists (
    select 1 from unnest(months) as x
    where not exists (
      select 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_namespace n on n.oid = c.relnamespace
      where i.inhparent = 'hub.learning_history'::regclass and n.nspname = 'hub'
        and c.relname = 'learning_history_' || to_char(x, 'YYYY_MM'))
  ) then
    return created;
  end if;
  perform pg_advisory_xact_lock(hashtext('hub.learning_history'), 0);
  foreach m in array (select array_agg(distinct date_trunc('month', x)::date order by date_trunc('month', x)::date) from unnest(months) as x) loop
    if hub.create_learning_history_partition(m) then
      created := created || ('learning_history_' || to_char(m, 'YYYY_MM'));
    end if;
  end loop;
  return created;
end
$$;

-- §5.1/§8.2: partitions of months before the month two years before `reference` leave the live
-- table: detached and moved to the archive schema (still cascading with their student). When the
-- archive already holds that month (a late event re-created it), the rows are merged into the
-- archived table and the live one dropped. Returns the months it archived.
create or replace function hub.archive_old_learning_history_partitions(reference date default current_date)
returns text[]
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  cutoff text := 'learning_history_' || to_char(reference - interval '2 years', 'YYYY_MM');
  part record;
  archived text[] := '{}';
begin
  if app.user_id() is null or not (app.has_role('service') or app.has_role('admin')) then
    raise exception 'only the service identity or an admin may archive' using errcode = '42501';
  end if;
  perform pg_advisory_xact_lock(hashtext('hub.learning_history'), 0);
  for part in
    select c.relname
    from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    join pg_namespace n on n.oid = c.relnamespace
    where i.inhparent = 'hub.learning_history'::regclass and n.nspname = 'hub'
      and c.relname ~ '^learning_history_\d{4}_\d{2}$' and c.relname < cutoff
    order by c.relname
  loop
    execute format('alter table hub.learning_history detach partition hub.%I', part.relname);
    if to_regclass(format('archive.%I', part.relname)) is null then
      execute format('alter table hub.%I set schema archive', part.relname);
    else
      execute format('insert into archive.%I select * from hub.%I', part.relname, part.relname);
      execute format('drop table hub.%I', part.relname);
    end if;
    archived := archived || part.relname;
  end loop;
  return archived;
end
$$;

-- The archived rows of one student (newest first), for admins: the union of the archive's monthly
-- tables overlapping [from_ts, to_ts).
create or replace function hub.archived_learning_history(p_student_id uuid, from_ts timestamp, to_ts timestamp, max_rows integer)
returns table (id bigint, occurred_at timestamp, student_id uuid, event_type varchar, source_node integer,
               source_id varchar, content jsonb, created_at timestamp, event_id uuid, partition_name text)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  parts text[];
  query text;
begin
  if app.user_id() is null or not (app.has_role('admin') or app.has_role('service')) then
    raise exception 'only an admin may read the archive' using errcode = '42501';
  end if;
  select array_agg(c.relname order by c.relname) into parts
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = 'archive' and c.relkind = 'r' and c.relname ~ '^learning_history_\d{4}_\d{2}$'
    and to_date(substr(c.relname, 18), 'YYYY_MM') < to_ts
    and to_date(substr(c.relname, 18), 'YYYY_MM') + interval '1 month' > from_ts;
  if parts is null then
    return;
  end if;
  select string_agg(format(
    'select id, occurred_at, student_id, event_type, source_node, source_id, content, created_at, event_id, %L::text
       from archive.%I where student_id = $1 and occurred_at >= $2 and occurred_at < $3', p, p), ' union all ')
  into query from unnest(parts) as p;
  return query execute query || ' order by 2 desc, 1 desc limit $4' using p_student_id, from_ts, to_ts, max_rows;
end
$$;

-- §8.3, as the document writes it: students created more than five years before `reference` lose
-- name, contact and metadata. Rows already anonymized are left alone, so a re-run changes nothing.
-- Invoker's rights: the jobs call it as the service identity, through row-level security.
create or replace function hub.anonymize_old_students(reference date default current_date)
returns integer
language sql
as $$
  with done as (
    update hub.students
    set name = 'ANONYMIZED_' || id, email = null, parent_contact = null, metadata = '{}'::jsonb, updated_at = now()
    where created_at < reference - interval '5 years'
      and (name <> 'ANONYMIZED_' || id or email is not null or parent_contact is not null or metadata <> '{}'::jsonb)
    returning 1
  )
  select count(*)::integer from done
$$;

revoke all on function hub.create_learning_history_partition(date), hub.ensure_learning_history_partitions(date[]),
  hub.archive_old_learning_history_partitions(date), hub.archived_learning_history(uuid, timestamp, timestamp, integer),
  hub.anonymize_old_students(date) from public;
grant execute on function hub.create_learning_history_partition(date), hub.ensure_learning_history_partitions(date[]),
  hub.archive_old_learning_history_partitions(date), hub.archived_learning_history(uuid, timestamp, timestamp, integer),
  hub.anonymize_old_students(date) to app_api;

-- §5.1: this month and the five after it exist from the start; the daily job keeps six ahead.
do $$
declare
  month_offset integer;
begin
  for month_offset in 0..5 loop
    perform hub.create_learning_history_partition((current_date + make_interval(months => month_offset))::date);
  end loop;
end $$;

-- ---------------------------------------------------------------------------------------------
-- Row-level security (docs/hub.md, "Roles"). Identity comes from app.user_id(), app.tenant_id()
-- and app.has_role(); each (select …) is evaluated once per statement.
--   admin, service   every row (service: the cron jobs' identity; the API refuses tokens carrying it)
--   teacher          the students whose school_id equals the token's tenant_id, and their rows
--   student          reads the student row whose user_id is the token's sub, and its rows
-- A child row (history, intervention, task, run) belongs to its student; tasks and runs without
-- a student are global and only admin/service see them.
-- ---------------------------------------------------------------------------------------------
alter table hub.students enable row level security;
alter table hub.students force row level security;
alter table hub.learning_history enable row level security;
alter table hub.learning_history force row level security;
alter table hub.interventions enable row level security;
alter table hub.interventions force row level security;
alter table hub.scheduled_tasks enable row level security;
alter table hub.scheduled_tasks force row level security;
alter table hub.task_runs enable row level security;
alter table hub.task_runs force row level security;

do $$
declare
  t text;
  everyone constant text := '((select app.user_id()) is not null and ((select app.has_role(''admin'')) or (select app.has_role(''service''))))';
begin
  if not exists (select 1 from pg_catalog.pg_policies where schemaname = 'hub' and policyname = 'students_staff') then
    execute format(
      'create policy students_staff on hub.students for all
         using (%1$s or ((select app.has_role(''teacher'')) and school_id = (select app.tenant_id())))
         with check (%1$s or ((select app.has_role(''teacher'')) and school_id = (select app.tenant_id())))', everyone);
  end if;
  if not exists (select 1 from pg_catalog.pg_policies where schemaname = 'hub' and policyname = 'students_self_read') then
    create policy students_self_read on hub.students for select
      using ((select app.has_role('student')) and user_id = (select app.user_id()));
  end if;

  foreach t in array array['learning_history', 'interventions', 'scheduled_tasks', 'task_runs'] loop
    if not exists (select 1 from pg_catalog.pg_policies where schemaname = 'hub' and tablename = t and policyname = t || '_staff') then
      execute format(
        'create policy %1$I on hub.%2$I for all
           using (%3$s or ((select app.has_role(''teacher'')) and student_id in (
             select s.id from hub.students s where s.school_id = (select app.tenant_id()))))
           with check (%3$s or ((select app.has_role(''teacher'')) and student_id in (
             select s.id from hub.students s where s.school_id = (select app.tenant_id()))))',
        t || '_staff', t, everyone);
    end if;
    if not exists (select 1 from pg_catalog.pg_policies where schemaname = 'hub' and tablename = t and policyname = t || '_self_read') then
      execute format(
        'create policy %1$I on hub.%2$I for select
           using ((select app.has_role(''student'')) and student_id in (
             select s.id from hub.students s where s.user_id = (select app.user_id())))',
        t || '_self_read', t);
    end if;
  end loop;
end $$;
