-- Undo 0005_event_metrics. Safe to re-run.

-- squawk-ignore-file ban-drop-table
-- Dropping the table is what rolling back its creation means; this only runs on purpose.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

drop table if exists exam.event_metrics;
