-- 0008_exact_roles: app.has_role() matches role names exactly, as the API does.
--
-- 0001 read app.roles as a comma list and trimmed each name, while the API compares names
-- exactly: a token role "admin " or "learner,admin", refused by the routes, was granted by
-- row-level security. The API now sends app.roles as a JSON array of names in its role grammar
-- (src/platform/auth.ts ROLE_NAME), e.g. '["learner","admin"]', and this definition accepts that
-- form only: no whitespace, no escapes, every name a lowercase ASCII letter then up to 63 of
-- [a-z0-9_-]. Any other content (unset, '', the old comma list, a name outside the grammar,
-- invalid JSON) holds no role: false, never an error. The pattern is tested before the cast
-- inside a CASE, whose order of evaluation is guaranteed, so the cast only sees valid JSON.
--
-- Same signature, so every policy and SECURITY DEFINER function that calls it keeps working;
-- CREATE OR REPLACE keeps the grant to app_api. Deploy with the API version that sends the JSON
-- form: in between, either side reads the other's form as "no roles" (fails closed).

set local lock_timeout = '5s';
set local statement_timeout = '60s';

create or replace function app.has_role(role_name text) returns boolean
language sql stable
as $$
  select coalesce(
    case
      when s ~ '^\[("[a-z][a-z0-9_-]{0,63}"(,"[a-z][a-z0-9_-]{0,63}")*)?\]$' then s::jsonb ? role_name
    end,
    false)
  from (select current_setting('app.roles', true) as s) as setting
$$;
