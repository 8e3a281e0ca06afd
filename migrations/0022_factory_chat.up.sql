-- 0022_factory_chat: what the chat (spec 003 §8, docs/factory-chat.md) needs beyond §8's DDL. One
-- function, no table change; safe to re-run.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

-- A tenant's settings.timezone as a zone name Postgres accepts, else UTC. The chat resolves
-- relative dates (어제, last week) in it inside the turn's one statement; settings are free JSON,
-- so a name Postgres does not know must not fail the turn. Trying the name costs microseconds,
-- where looking it up in pg_timezone_names reads the zone files (50 ms and more).
create or replace function factory.zone_or_utc(zone text) returns text
language plpgsql stable
as $$
begin
  if zone is null or zone = '' then
    return 'UTC';
  end if;
  perform now() at time zone zone;
  return zone;
exception when invalid_parameter_value then
  return 'UTC';
end
$$;

grant execute on function factory.zone_or_utc(text) to app_api;
