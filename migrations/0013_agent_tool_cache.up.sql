-- 0013_agent_tool_cache: how long a tool's results stay in the §8.2 execution cache (spec 002
-- §8.2: "TTL: 1 hour (configurable per tool)"). The document gives the setting no column, so this
-- adds one to agent.tools: null is the document's 1 hour, 0 means the tool's results are never
-- cached (a tool with side effects or time-dependent output), otherwise seconds, at most 7 days.
-- docs/agent.md, "Tools and the execution cache", describes the rules. Expand only: a new
-- nullable column that nothing reads until the routes of this change do.

-- squawk-ignore-file prefer-bigint-over-int
-- At most 604800 by its check: an int, as timeout_seconds beside it, answered as a JSON number.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

alter table agent.tools add column if not exists cache_ttl_seconds integer
    constraint tools_cache_ttl_seconds_range check (cache_ttl_seconds between 0 and 604800);
