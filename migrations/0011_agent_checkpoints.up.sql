-- 0011_agent_checkpoints: LangGraph checkpoints (spec 002 §7) in schema agent: the three tables
-- exactly as ../shared/spec/expected/agent.sql gives them, plus what lets the official savers
-- (@langchain/langgraph-checkpoint-postgres, Python's langgraph-checkpoint-postgres) run on them
-- unchanged, thread ownership, the per-thread write lease and row-level security.
-- docs/agent.md, "LangGraph checkpoints", describes the rules. Independent of 0010_agent.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

-- squawk-ignore-file prefer-text-field, require-concurrent-index-creation, prefer-robust-stmts, prefer-bigint-over-int
-- The tables are created empty in this same transaction (no index to build concurrently), and
-- their columns are the document's and the savers' (integer idx and v: what they declare and read).

create table if not exists agent.checkpoints (
    thread_id text not null,
    checkpoint_ns text not null default '',
    checkpoint_id text not null,
    parent_checkpoint_id text,
    type text,
    checkpoint jsonb not null,
    metadata jsonb not null default '{}',
    primary key (thread_id, checkpoint_ns, checkpoint_id)
);

create table if not exists agent.checkpoint_blobs (
    thread_id text not null,
    checkpoint_ns text not null default '',
    channel text not null,
    version text not null,
    type text not null,
    blob bytea,
    primary key (thread_id, checkpoint_ns, channel, version)
);

create table if not exists agent.checkpoint_writes (
    thread_id text not null,
    checkpoint_ns text not null default '',
    checkpoint_id text not null,
    task_id text not null,
    idx integer not null,
    channel text not null,
    type text,
    blob bytea not null,
    primary key (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
);

-- Addition: Python's saver (migration 9) inserts task_path; the JS saver leaves it to this default.
alter table agent.checkpoint_writes add column if not exists task_path text not null default '';

-- Additions: the official savers' thread_id indexes (Python migrations 6-8, same names), which
-- serve deleteThread and pruning; the primary keys already lead with thread_id but these are
-- what the savers would create, so they find nothing left to do.
create index if not exists checkpoints_thread_id_idx on agent.checkpoints (thread_id);
create index if not exists checkpoint_blobs_thread_id_idx on agent.checkpoint_blobs (thread_id);
create index if not exists checkpoint_writes_thread_id_idx on agent.checkpoint_writes (thread_id);

-- Addition: the savers' own migration ledger. setup() applies every version above the highest
-- row; versions 0-9 are Python's full list (the JS saver's five are its prefix), all of which
-- the statements above already cover, so neither saver changes these tables.
create table if not exists agent.checkpoint_migrations (
    v integer primary key
);
insert into agent.checkpoint_migrations (v) select generate_series(0, 9) on conflict (v) do nothing;

-- Addition: who owns a thread and who may write it now. A separate table keyed by thread_id, so
-- the official savers' statements on the three tables stay exactly as they are. lease_owner is
-- an opaque writer id (one per saver instance); last_write_at drives idle-thread pruning.
create table if not exists agent.checkpoint_threads (
    thread_id text primary key,
    user_id uuid not null,
    tenant_id text,
    lease_owner text,
    lease_until timestamptz,
    created_at timestamptz not null default now(),
    last_write_at timestamptz not null default now()
);
create index if not exists checkpoint_threads_owner_idx on agent.checkpoint_threads (user_id, tenant_id);
create index if not exists checkpoint_threads_last_write_idx on agent.checkpoint_threads (last_write_at);

-- The write lease, taken first in every put and putWrites batch. A write passes when its writer
-- holds the lease, the lease has lapsed, or the write continues the namespace's latest
-- checkpoint (its parent for put, its checkpoint for putWrites): a new saver instance resuming a
-- thread continues its head, while a second writer starting from an older checkpoint would fork
-- the chain. Raising aborts the batch, so nothing of a refused write is stored. The row lock
-- comes before the head is read, so the head read sees any write that held the lock before.
create or replace function agent.checkpoint_take_lease(p_thread text, p_ns text, p_writer text, p_base text, p_ttl_seconds integer)
returns void
language plpgsql
as $$
declare
  t agent.checkpoint_threads;
  head text;
begin
  insert into agent.checkpoint_threads (thread_id, user_id, tenant_id)
  values (p_thread, app.user_id(), app.tenant_id())
  on conflict (thread_id) do nothing;
  select * into t from agent.checkpoint_threads where thread_id = p_thread for update;
  if not found then
    raise exception using errcode = 'LG404', message = format('checkpoint thread %s belongs to another caller', p_thread);
  end if;
  select max(checkpoint_id) into head from agent.checkpoints where thread_id = p_thread and checkpoint_ns = p_ns;
  if t.lease_owner is distinct from p_writer and t.lease_until > clock_timestamp() and p_base is distinct from head then
    raise exception using errcode = 'LG409',
      message = format('checkpoint thread %s is being written by another writer until %s; this write starts from %s, not the latest checkpoint %s',
        p_thread, t.lease_until, coalesce(p_base, 'nothing'), coalesce(head, 'none'));
  end if;
  update agent.checkpoint_threads
  set lease_owner = p_writer, lease_until = clock_timestamp() + make_interval(secs => p_ttl_seconds), last_write_at = clock_timestamp()
  where thread_id = p_thread;
end $$;

-- Row-level security, forced. Through the API (app_api) a thread and its rows are visible to the
-- user and organization that created it, and to jobs (role service). Any other database role is
-- a direct saver connection (the official savers, given grants by an operator): the grant is its
-- access control, and its threads have no owner row, so the API never serves them.
alter table agent.checkpoint_threads enable row level security;
alter table agent.checkpoint_threads force row level security;
alter table agent.checkpoints enable row level security;
alter table agent.checkpoints force row level security;
alter table agent.checkpoint_blobs enable row level security;
alter table agent.checkpoint_blobs force row level security;
alter table agent.checkpoint_writes enable row level security;
alter table agent.checkpoint_writes force row level security;

do $$
declare
  t text;
begin
  if not exists (select 1 from pg_catalog.pg_policies where schemaname = 'agent' and policyname = 'checkpoint_threads_owner') then
    create policy checkpoint_threads_owner on agent.checkpoint_threads for all to app_api
      using ((select app.has_role('service')) or (user_id = (select app.user_id()) and tenant_id is not distinct from (select app.tenant_id())))
      with check ((select app.has_role('service')) or (user_id = (select app.user_id()) and tenant_id is not distinct from (select app.tenant_id())));
  end if;
  if not exists (select 1 from pg_catalog.pg_policies where schemaname = 'agent' and policyname = 'checkpoint_threads_direct') then
    create policy checkpoint_threads_direct on agent.checkpoint_threads for all
      using (current_user <> 'app_api') with check (current_user <> 'app_api');
  end if;
  foreach t in array array['checkpoints', 'checkpoint_blobs', 'checkpoint_writes'] loop
    if not exists (select 1 from pg_catalog.pg_policies where schemaname = 'agent' and tablename = t and policyname = t || '_owner') then
      -- checkpoint_threads' own policy decides which owner rows the subquery sees.
      execute format(
        'create policy %1$I on agent.%2$I for all to app_api
           using (exists (select 1 from agent.checkpoint_threads o where o.thread_id = %2$I.thread_id))
           with check (exists (select 1 from agent.checkpoint_threads o where o.thread_id = %2$I.thread_id))',
        t || '_owner', t);
    end if;
    if not exists (select 1 from pg_catalog.pg_policies where schemaname = 'agent' and tablename = t and policyname = t || '_direct') then
      execute format('create policy %1$I on agent.%2$I for all using (current_user <> ''app_api'') with check (current_user <> ''app_api'')', t || '_direct', t);
    end if;
  end loop;
end $$;
