-- Undo 0006_hub: drop the hub's functions and tables (partitions go with their parent; indexes,
-- grants and policies with their tables), and the monthly tables the archive job moved to the
-- archive schema, which still reference hub.students. Safe to re-run. Children first, so no
-- CASCADE is needed: anything else that came to depend on these fails this instead of vanishing.

-- squawk-ignore-file ban-drop-table
-- Dropping the tables is what rolling back their creation means; this only runs on purpose.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

drop function if exists hub.anonymize_old_students(date);
drop function if exists hub.archived_learning_history(uuid, timestamp, timestamp, integer);
drop function if exists hub.archive_old_learning_history_partitions(date);
drop function if exists hub.ensure_learning_history_partitions(date[]);
drop function if exists hub.create_learning_history_partition(date);

do $$
declare
  t text;
begin
  for t in
    select c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'archive' and c.relkind = 'r' and c.relname ~ '^learning_history_\d{4}_\d{2}$'
  loop
    execute format('drop table archive.%I', t);
  end loop;
end $$;

drop table if exists hub.task_runs;
drop table if exists hub.scheduled_tasks;
drop table if exists hub.interventions;
drop table if exists hub.learning_history;
drop table if exists hub.students;
