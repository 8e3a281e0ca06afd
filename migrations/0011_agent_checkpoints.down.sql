-- Undo 0011_agent_checkpoints: drop the checkpoint tables (their indexes and policies go with
-- them) and the lease function. Safe to re-run. No CASCADE: anything that came to depend on
-- these makes this fail instead of being dropped silently.

-- squawk-ignore-file ban-drop-table
-- Dropping the tables is what rolling back their creation means; this only runs on purpose.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

drop function if exists agent.checkpoint_take_lease(text, text, text, text, integer);
-- The three tables' policies read checkpoint_threads: they go first.
drop table if exists agent.checkpoint_writes;
drop table if exists agent.checkpoint_blobs;
drop table if exists agent.checkpoints;
drop table if exists agent.checkpoint_threads;
drop table if exists agent.checkpoint_migrations;
