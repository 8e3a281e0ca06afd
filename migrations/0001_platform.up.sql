-- 0001_platform: what every system shares: extensions, one Postgres schema per system, the
-- identity helpers that row-level-security policies call, and the role the API connects as.
--
-- The runner wraps this file in one transaction; every statement is also safe to re-run on its
-- own (IF NOT EXISTS, CREATE OR REPLACE, guarded DO blocks). Later changes follow spec 000
-- §25.2: expand/contract (add nullable, backfill, then constrain; drop or retype only in a later
-- migration).

-- Fail fast instead of queueing behind a long-running query while holding locks.
set local lock_timeout = '5s';
set local statement_timeout = '60s';

create extension if not exists pgcrypto schema public;
create extension if not exists "uuid-ossp" schema public;
create extension if not exists pg_trgm schema public;
create extension if not exists btree_gin schema public;

create schema if not exists exam;
create schema if not exists seedtest;
create schema if not exists agent;
create schema if not exists factory;
create schema if not exists hub;
create schema if not exists archive;
create schema if not exists app;

-- Identity of the current request. The API sets these first in each batch with
-- set_config(name, value, true) (transaction-local). An unset setting reads as NULL and a reset
-- one as '' so both mean "no identity"; a malformed user id also means "no identity" rather than
-- an error, so a bad token can never turn into a 500 inside a policy.
-- Plain SQL (not plpgsql) so the planner can inline them into policy expressions.
create or replace function app.user_id() returns uuid
language sql stable
as $$
  select case
    when s ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' then s::uuid
  end
  from (select current_setting('app.user_id', true) as s) as setting
$$;

create or replace function app.tenant_id() returns text
language sql stable
as $$
  select nullif(current_setting('app.tenant_id', true), '')
$$;

-- app.roles is a comma-separated list such as 'learner,admin'; names match exactly after trimming.
create or replace function app.has_role(role_name text) returns boolean
language sql stable
as $$
  select exists (
    select 1
    from unnest(string_to_array(current_setting('app.roles', true), ',')) as r(name)
    where btrim(r.name) = role_name
  )
$$;

-- app_api: the role the API logs in as. Roles are cluster-wide, so another database on the same
-- server may have created it already (or be creating it right now: hence the duplicate_object
-- handler). It gets no password here: local servers use trust auth, and production sets the
-- password out of band (ALTER ROLE app_api PASSWORD ...) so no secret lives in git.
-- It owns nothing and is never superuser, BYPASSRLS, CREATEDB or CREATEROLE, so row-level
-- security always applies to it; an existing role with any of those is refused, not altered.
do $$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'app_api') then
    create role app_api login nosuperuser nobypassrls nocreatedb nocreaterole;
  end if;
exception when duplicate_object or unique_violation then
  null; -- created concurrently by a migration of another database
end $$;

do $$
begin
  if exists (
    select 1 from pg_catalog.pg_roles
    where rolname = 'app_api'
      and (rolsuper or rolbypassrls or rolcreatedb or rolcreaterole or not rolcanlogin)
  ) then
    raise exception 'role app_api exists with privileges it must not have (superuser, bypassrls, createdb, createrole or nologin)';
  end if;
end $$;

grant usage on schema exam, seedtest, agent, factory, hub, archive, app to app_api;
grant execute on function app.user_id(), app.tenant_id(), app.has_role(text) to app_api;

-- Tables (and the sequences behind identity/serial columns) that the migrating role creates
-- later in these schemas are usable by the API without a grant in every migration.
alter default privileges in schema exam, seedtest, agent, factory, hub, archive
  grant select, insert, update, delete on tables to app_api;
alter default privileges in schema exam, seedtest, agent, factory, hub, archive
  grant usage, select on sequences to app_api;
