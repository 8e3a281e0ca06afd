-- Undoes 0013_agent_tool_cache: the per-tool cache TTL (the constraint goes with the column).

-- squawk-ignore-file ban-drop-column
-- Dropping the column is the rollback of adding it; only this change's routes read it. `if exists`
-- twice: re-running it after 0010's down file has dropped the schema is a no-op.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

alter table if exists agent.tools drop column if exists cache_ttl_seconds;
