-- Undo 0002_exam: drop the exam tables (their indexes, grants and policies go with them).
-- Safe to re-run. Children first so no CASCADE is needed: anything else that came to depend
-- on these tables makes this fail instead of being dropped silently.

-- squawk-ignore-file ban-drop-table
-- Dropping the tables is what rolling back their creation means; this only runs on purpose.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

drop table if exists exam.step_submissions;
drop table if exists exam.audit_policy_events;
drop table if exists exam.sessions;
drop table if exists exam.plan_tasks;
drop table if exists exam.plans;
drop table if exists exam.exam_profiles;
