-- Undo 0017_factory_workflow_triggers: no trigger tables, no one-active-version index. Safe to
-- re-run, also after 0015's down removed the workflow tables.

-- squawk-ignore-file ban-drop-table, require-concurrent-index-deletion
-- Dropping what 0017 created is what rolling it back means; a file runs in one transaction, where
-- CONCURRENTLY is impossible.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

drop table if exists factory.workflow_webhook_deliveries;
drop table if exists factory.workflow_schedule_slots;
drop table if exists factory.workflow_webhook_secrets;
drop index if exists factory.workflows_one_active;
