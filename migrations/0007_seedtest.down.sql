-- Undo 0007_seedtest: drop the learning-analytics tables (their indexes, grants and policies go
-- with them), then the helper functions the policies used. Safe to re-run. No CASCADE: anything
-- else that came to depend on these makes this fail instead of being dropped silently.

-- squawk-ignore-file ban-drop-table
-- Dropping the tables is what rolling back their creation means; this only runs on purpose.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

drop table if exists seedtest.features_topic_daily;
drop table if exists seedtest.interest_goal;
drop table if exists seedtest.session;
drop table if exists seedtest.classroom;

drop function if exists seedtest.teaches_learner(text);
drop function if exists seedtest.teaches_classroom(integer, text);
drop function if exists seedtest.is_admin();
drop function if exists seedtest.caller_org();
drop function if exists seedtest.caller_id();
