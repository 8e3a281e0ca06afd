-- Undo 0004_exam_flows: the staff policies, the status trigger and the job functions. Safe to re-run.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

drop trigger if exists sessions_status_guard on exam.sessions;
drop function if exists exam.sessions_status_guard();
drop function if exists exam.purge_policy_events(int);
drop function if exists exam.abandon_idle_sessions(int);
drop policy if exists sessions_proctor_update on exam.sessions;
drop policy if exists sessions_reviewer_update on exam.sessions;
drop policy if exists step_submissions_staff_read on exam.step_submissions;
drop policy if exists sessions_staff_read on exam.sessions;
