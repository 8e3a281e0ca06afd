-- Undo 0003_events. Safe to re-run.

-- squawk-ignore-file ban-drop-table
-- Dropping the tables is what rolling back their creation means; this only runs on purpose.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

drop table if exists exam.mistake_stats;
drop table if exists app.consumed_events;
drop table if exists app.outbox_events;
