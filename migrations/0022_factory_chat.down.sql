-- Undo 0022_factory_chat: drop the time-zone helper. Safe to re-run.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

drop function if exists factory.zone_or_utc(text);
