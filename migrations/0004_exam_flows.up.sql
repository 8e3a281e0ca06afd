-- 0004_exam_flows: what the learner-facing exam flows need beyond 0002 (docs/exam.md).
--
-- 1. Staff policies. 0002 lets a learner touch only their own rows and admins only read. Reviewers
--    read every session and its submissions, proctors every session (a force-close has to see
--    the row it updates); a reviewer (or admin) moves a session
--    SUBMITTED → REVIEWED → CLOSED; a proctor (or admin) moves an open session to FORCE_CLOSED.
--    Each UPDATE policy repeats the role in its WITH CHECK: permissive policies are OR-ed, so a
--    check without the role would let one staff role make another's transition.
-- 2. A trigger that lets sessions.status change only along the state machine (docs/exam.md). A
--    WITH CHECK cannot see the old row, so policies alone bound which states a role may write,
--    not from where: an admin (who holds both staff policies) could otherwise move RUNNING to
--    CLOSED, and a learner's own-row policy any state to any other. Any other change of status
--    skips the row, so the UPDATE matches nothing, exactly as the API's conditional UPDATEs do
--    when the state does not fit (they then answer 409 naming the current state).
-- 3. Two SECURITY DEFINER functions for the cron jobs, which act for no user: the idle-session
--    sweep and the audit retention purge. Each does exactly one statement, so the API role gets
--    no policy that reaches every learner's rows. They run as the migrating role, which skips
--    row-level security (superuser, or BYPASSRLS as the owner role is on Neon; see 0002).

set local lock_timeout = '5s';
set local statement_timeout = '60s';

do $$
begin
  if not exists (select 1 from pg_catalog.pg_policies
                 where schemaname = 'exam' and tablename = 'sessions' and policyname = 'sessions_staff_read') then
    create policy sessions_staff_read on exam.sessions for select
      using ((select app.user_id()) is not null and (app.has_role('reviewer') or app.has_role('proctor')));
  end if;
  if not exists (select 1 from pg_catalog.pg_policies
                 where schemaname = 'exam' and tablename = 'step_submissions' and policyname = 'step_submissions_staff_read') then
    create policy step_submissions_staff_read on exam.step_submissions for select
      using ((select app.user_id()) is not null and app.has_role('reviewer'));
  end if;
  if not exists (select 1 from pg_catalog.pg_policies
                 where schemaname = 'exam' and tablename = 'sessions' and policyname = 'sessions_reviewer_update') then
    create policy sessions_reviewer_update on exam.sessions for update
      using ((select app.user_id()) is not null and (app.has_role('reviewer') or app.has_role('admin'))
             and status in ('SUBMITTED', 'REVIEWED'))
      with check ((select app.user_id()) is not null and (app.has_role('reviewer') or app.has_role('admin'))
                  and status in ('REVIEWED', 'CLOSED'));
  end if;
  if not exists (select 1 from pg_catalog.pg_policies
                 where schemaname = 'exam' and tablename = 'sessions' and policyname = 'sessions_proctor_update') then
    create policy sessions_proctor_update on exam.sessions for update
      using ((select app.user_id()) is not null and (app.has_role('proctor') or app.has_role('admin'))
             and status in ('CREATED', 'RUNNING', 'PAUSED', 'SUBMITTED'))
      with check ((select app.user_id()) is not null and (app.has_role('proctor') or app.has_role('admin'))
                  and status = 'FORCE_CLOSED');
  end if;
end
$$;

create or replace function exam.sessions_status_guard() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if new.status is distinct from old.status and (old.status, new.status) not in (
    ('CREATED', 'RUNNING'), ('RUNNING', 'PAUSED'), ('PAUSED', 'RUNNING'), ('RUNNING', 'SUBMITTED'),
    ('SUBMITTED', 'REVIEWED'), ('REVIEWED', 'CLOSED'),
    ('CREATED', 'FORCE_CLOSED'), ('RUNNING', 'FORCE_CLOSED'), ('PAUSED', 'FORCE_CLOSED'), ('SUBMITTED', 'FORCE_CLOSED'),
    ('RUNNING', 'ABANDONED'), ('PAUSED', 'ABANDONED')
  ) then
    return null;
  end if;
  return new;
end
$$;

create or replace trigger sessions_status_guard
  before update of status on exam.sessions
  for each row execute function exam.sessions_status_guard();

-- RUNNING or PAUSED sessions with no activity (any change bumps updated_at) for idle_seconds.
create or replace function exam.abandon_idle_sessions(idle_seconds int) returns int
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
  with abandoned as (
    update exam.sessions
       set status = 'ABANDONED', ended_at = now(), updated_at = now()
     where status in ('RUNNING', 'PAUSED')
       and updated_at < now() - make_interval(secs => idle_seconds)
    returning 1
  )
  select count(*)::int from abandoned
$$;

create or replace function exam.purge_policy_events(retention_days int) returns int
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
  with purged as (
    delete from exam.audit_policy_events
     where created_at < now() - make_interval(days => retention_days)
    returning 1
  )
  select count(*)::int from purged
$$;

revoke all on function exam.abandon_idle_sessions(int), exam.purge_policy_events(int) from public;
grant execute on function exam.abandon_idle_sessions(int), exam.purge_policy_events(int) to app_api;
