-- Undo 0024_agent_checkpoint_lease: 0011's rule again (any base but the head is refused while
-- another writer's lease runs). Safe to re-run, also after 0011's down removed the schema.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

do $do$
begin
  if to_regprocedure('agent.checkpoint_take_lease(text, text, text, text, integer)') is null then
    return;
  end if;
  execute $fn$
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
$fn$;
end
$do$;
