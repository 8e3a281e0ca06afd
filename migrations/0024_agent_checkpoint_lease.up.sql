-- 0024_agent_checkpoint_lease: a write continuing a checkpoint newer than the namespace's head
-- passes the lease (issue 9; docs/agent.md, checkpoints). LangGraph sends a new checkpoint's
-- putWrites alongside its put, so a resumed run's putWrites can arrive before the put that makes
-- its checkpoint the head; 0011 refused it while the previous writer's lease ran. Only a write
-- from an older checkpoint (or from nothing, once the namespace has a head) forks the chain. Checkpoint
-- ids are time-ordered (uuid6), as the head's max() already takes. Safe to re-run.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

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
  if t.lease_owner is distinct from p_writer and t.lease_until > clock_timestamp() and head is not null and (p_base is null or p_base < head) then
    raise exception using errcode = 'LG409',
      message = format('checkpoint thread %s is being written by another writer until %s; this write starts from %s, not the latest checkpoint %s',
        p_thread, t.lease_until, coalesce(p_base, 'nothing'), coalesce(head, 'none'));
  end if;
  update agent.checkpoint_threads
  set lease_owner = p_writer, lease_until = clock_timestamp() + make_interval(secs => p_ttl_seconds), last_write_at = clock_timestamp()
  where thread_id = p_thread;
end $$;
