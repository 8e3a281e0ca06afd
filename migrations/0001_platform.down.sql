-- Undo 0001_platform. Safe to re-run.
-- Schemas and extensions are dropped RESTRICT: if anything still lives in them (a later
-- migration not rolled back, or data put there by hand) this fails instead of destroying it.
-- Dropping a schema also drops its grants and default privileges for app_api.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

drop function if exists app.has_role(text);
drop function if exists app.tenant_id();
drop function if exists app.user_id();

drop schema if exists app;
drop schema if exists archive;
drop schema if exists hub;
drop schema if exists factory;
drop schema if exists agent;
drop schema if exists seedtest;
drop schema if exists exam;

drop extension if exists btree_gin;
drop extension if exists pg_trgm;
drop extension if exists "uuid-ossp";
drop extension if exists pgcrypto;

-- app_api is cluster-wide: other databases on this server may still grant it privileges (their
-- own 0001 ran there). Drop it only when nothing anywhere depends on it; otherwise leave it, a
-- role that owns nothing and holds no privileges here is harmless.
do $$
begin
  if exists (select 1 from pg_catalog.pg_roles where rolname = 'app_api') then
    drop role app_api;
  end if;
exception when dependent_objects_still_exist then
  raise notice 'role app_api kept: other databases still grant it privileges';
end $$;
