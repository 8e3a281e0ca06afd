-- Undo 0008_exact_roles: 0001's definition (comma list, trimmed names). Safe to re-run, also
-- after 0001 is undone (then there is nothing to restore). Roll back the API with it: this
-- version reads the JSON array the API now sends as no roles.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

do $do$
begin
  if to_regnamespace('app') is not null then
    create or replace function app.has_role(role_name text) returns boolean
    language sql stable
    as $body$
      select exists (
        select 1
        from unnest(string_to_array(current_setting('app.roles', true), ',')) as r(name)
        where btrim(r.name) = role_name
      )
    $body$;
  end if;
end
$do$;
