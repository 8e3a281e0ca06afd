import { sql } from "drizzle-orm";
import { z } from "zod";
import { servicePrincipal } from "../platform/auth";
import type { Bindings } from "../platform/context";
import { backgroundDatabase, runAs } from "../platform/db";

/** The identity of the agent system's jobs (role service: migration 0011's policies let it reach every thread). */
export const AGENT_SERVICE = servicePrincipal("00000000-0000-4000-8000-000000000002");

/**
 * Pruning settings, from the Worker's vars (docs/agent.md, "Pruning"): checkpoints kept per thread
 * namespace, and the idle age after which a whole thread goes.
 */
const PruneSettings = z.object({
  AGENT_CHECKPOINTS_KEEP: z.coerce.number().int().min(1).default(100),
  AGENT_CHECKPOINT_IDLE_DAYS: z.coerce.number().int().min(1).default(30),
});

/**
 * Daily: deletes threads whose last write is older than the idle age, then every checkpoint of a
 * thread namespace beyond its newest N, with the pending writes of deleted checkpoints and the
 * blobs no remaining checkpoint references. One batch; idempotent, and an overlapping run finds
 * nothing left. Threads written straight by the official savers (no owner row) are not pruned.
 */
export async function pruneCheckpoints(env: Bindings, scheduledTime: number) {
  const { AGENT_CHECKPOINTS_KEEP: keep, AGENT_CHECKPOINT_IDLE_DAYS: idleDays } = PruneSettings.parse(env);
  const { db } = backgroundDatabase(env, "job-agent-prune-checkpoints");
  const cutoff = new Date(scheduledTime - idleDays * 86_400_000).toISOString();
  const idle = sql`select thread_id from agent.checkpoint_threads where last_write_at < ${cutoff}::timestamptz`;
  const [, , , , idleThreads, pruned] = await runAs(db, AGENT_SERVICE, [
    // Locks the idle threads: a writer taking one of their leases waits for this batch to finish.
    db.execute(sql`${idle} for update`),
    db.execute(sql`delete from agent.checkpoint_writes where thread_id in (${idle})`),
    db.execute(sql`delete from agent.checkpoint_blobs where thread_id in (${idle})`),
    db.execute(sql`delete from agent.checkpoints where thread_id in (${idle})`),
    db.execute(sql`delete from agent.checkpoint_threads where last_write_at < ${cutoff}::timestamptz returning thread_id`),
    db.execute(sql`
      delete from agent.checkpoints c
      using (
        select thread_id, checkpoint_ns, checkpoint_id,
          row_number() over (partition by thread_id, checkpoint_ns order by checkpoint_id desc) as n
        from agent.checkpoints
      ) ranked
      where ranked.n > ${keep}
        and c.thread_id = ranked.thread_id and c.checkpoint_ns = ranked.checkpoint_ns and c.checkpoint_id = ranked.checkpoint_id
      returning c.thread_id`),
    db.execute(sql`
      delete from agent.checkpoint_writes w
      where not exists (
        select 1 from agent.checkpoints c
        where c.thread_id = w.thread_id and c.checkpoint_ns = w.checkpoint_ns and c.checkpoint_id = w.checkpoint_id)`),
    db.execute(sql`
      delete from agent.checkpoint_blobs b
      where not exists (
        select 1 from agent.checkpoints c
        where c.thread_id = b.thread_id and c.checkpoint_ns = b.checkpoint_ns
          and c.checkpoint -> 'channel_versions' ->> b.channel = b.version)`),
  ] as const);
  return { idleThreadsDeleted: idleThreads.rows.length, checkpointsPruned: pruned.rows.length, keep, idleDays };
}
