import { sql, type SQL } from "drizzle-orm";
import type { Principal } from "../platform/auth";
import { runAs, type Database } from "../platform/db";
import { ApiError } from "../platform/problem";
import type { PutBody, PutWritesBody, WireTuple } from "./client/checkpoint-wire";

/**
 * The checkpoint store on the Neon HTTP driver: each operation is one runAs batch (one round trip,
 * one transaction). Row-level security limits every statement to the caller's threads
 * (migration 0011). The Worker saver and the HTTP routes both go through here.
 */

/**
 * @langchain/langgraph-checkpoint's TASKS and the channels of its WRITES_IDX_MAP, restated: importing
 * the package here would put @langchain/core in the API's bundle for two constants.
 * test/worker/agent-checkpoints.test.ts checks they still equal the package's.
 */
export const TASKS_CHANNEL = "__pregel_tasks";
export const SPECIAL_WRITE_CHANNELS: readonly string[] = ["__error__", "__scheduled__", "__interrupt__", "__resume__"];

/** How long a writer keeps a thread to itself after its last write (docs/agent.md, "Write lease"). */
export const DEFAULT_LEASE_SECONDS = 30;

export interface ListFilter {
  threadId?: string;
  checkpointNs?: string;
  checkpointId?: string;
  metadata?: Record<string, unknown>;
  before?: string;
  limit?: number;
}

/** The lease function's refusals (custom SQLSTATEs raised in migration 0011) as problems; anything else is rethrown. */
function leaseProblem(err: unknown): never {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    const { code, message } = e as { code?: unknown; message?: string };
    if (code === "LG409") throw new ApiError(409, "checkpoint_lease_conflict", message ?? "another writer holds this thread");
    if (code === "LG404") throw new ApiError(404, "not_found", message ?? "checkpoint thread was not found");
  }
  throw err;
}

const takeLease = (db: Database, threadId: string, ns: string, writer: string, base: string | null, leaseSeconds: number) =>
  db.execute(sql`select agent.checkpoint_take_lease(${threadId}, ${ns}, ${writer}, ${base}, ${leaseSeconds}::integer)`);

export async function putCheckpoint(db: Database, principal: Principal, threadId: string, put: PutBody, leaseSeconds = DEFAULT_LEASE_SECONDS) {
  const blobs = JSON.stringify(put.blobs);
  await runAs(db, principal, [
    takeLease(db, threadId, put.checkpointNs, put.writer, put.parentCheckpointId, leaseSeconds),
    db.execute(sql`
      insert into agent.checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
      select ${threadId}, ${put.checkpointNs}, b.channel, b.version, b.type, decode(b.blob, 'base64')
      from jsonb_to_recordset(${blobs}::jsonb) as b(channel text, version text, type text, blob text)
      on conflict (thread_id, checkpoint_ns, channel, version) do nothing`),
    db.execute(sql`
      insert into agent.checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
      values (${threadId}, ${put.checkpointNs}, ${put.checkpointId}, ${put.parentCheckpointId}, ${JSON.stringify(put.checkpoint)}::jsonb, ${JSON.stringify(put.metadata)}::jsonb)
      on conflict (thread_id, checkpoint_ns, checkpoint_id) do update set checkpoint = excluded.checkpoint, metadata = excluded.metadata`),
  ] as const).catch(leaseProblem);
}

export async function putWrites(db: Database, principal: Principal, threadId: string, put: PutWritesBody, leaseSeconds = DEFAULT_LEASE_SECONDS) {
  // As the official saver: special channels (errors, interrupts, resumes) replace, others keep the first write.
  const replace = put.writes.every((w) => SPECIAL_WRITE_CHANNELS.includes(w.channel));
  const conflict = replace
    ? sql`do update set channel = excluded.channel, type = excluded.type, blob = excluded.blob, task_path = excluded.task_path`
    : sql`do nothing`;
  await runAs(db, principal, [
    takeLease(db, threadId, put.checkpointNs, put.writer, put.checkpointId, leaseSeconds),
    db.execute(sql`
      insert into agent.checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob)
      select ${threadId}, ${put.checkpointNs}, ${put.checkpointId}, ${put.taskId}, ${put.taskPath}, w.idx, w.channel, w.type, decode(w.blob, 'base64')
      from jsonb_to_recordset(${JSON.stringify(put.writes)}::jsonb) as w(idx integer, channel text, type text, blob text)
      on conflict (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) ${conflict}`),
  ] as const).catch(leaseProblem);
}

// encode(…, 'base64') breaks lines every 76 characters; the wire form is one line.
const base64 = (column: SQL) => sql`translate(encode(${column}, 'base64'), E'\n', '')`;

/** The official saver's read, with blobs as base64 JSON: checkpoint, its channel values and its pending writes in one row. */
function selectTuples(where: SQL, tail: SQL) {
  return sql`
    select cp.thread_id as "threadId", cp.checkpoint_ns as "checkpointNs", cp.checkpoint_id as "checkpointId",
      cp.parent_checkpoint_id as "parentCheckpointId", cp.checkpoint, cp.metadata,
      coalesce((
        select jsonb_agg(jsonb_build_object('channel', bl.channel, 'version', bl.version, 'type', bl.type, 'blob', ${base64(sql`bl.blob`)}))
        from jsonb_each_text(cp.checkpoint -> 'channel_versions') v
        join agent.checkpoint_blobs bl
          on bl.thread_id = cp.thread_id and bl.checkpoint_ns = cp.checkpoint_ns and bl.channel = v.key and bl.version = v.value
      ), '[]'::jsonb) as "channelValues",
      coalesce((
        select jsonb_agg(jsonb_build_object('taskId', cw.task_id, 'channel', cw.channel, 'type', cw.type, 'blob', ${base64(sql`cw.blob`)})
          order by cw.task_path, cw.task_id, cw.idx)
        from agent.checkpoint_writes cw
        where cw.thread_id = cp.thread_id and cw.checkpoint_ns = cp.checkpoint_ns and cw.checkpoint_id = cp.checkpoint_id
      ), '[]'::jsonb) as "pendingWrites",
      coalesce((
        select jsonb_agg(jsonb_build_object('type', cw.type, 'blob', ${base64(sql`cw.blob`)}) order by cw.task_path, cw.task_id, cw.idx)
        from agent.checkpoint_writes cw
        where (cp.checkpoint ->> 'v')::int < 4 and cw.thread_id = cp.thread_id and cw.checkpoint_ns = cp.checkpoint_ns
          and cw.checkpoint_id = cp.parent_checkpoint_id and cw.channel = ${TASKS_CHANNEL}
      ), '[]'::jsonb) as "pendingSends"
    from agent.checkpoints cp
    where ${where}
    ${tail}`;
}

/** The latest checkpoint of the thread's namespace, or the one `checkpointId` names. */
export async function getTuple(db: Database, principal: Principal, threadId: string, checkpointNs: string, checkpointId?: string): Promise<WireTuple | undefined> {
  const where = checkpointId
    ? sql`cp.thread_id = ${threadId} and cp.checkpoint_ns = ${checkpointNs} and cp.checkpoint_id = ${checkpointId}`
    : sql`cp.thread_id = ${threadId} and cp.checkpoint_ns = ${checkpointNs}`;
  const [result] = await runAs(db, principal, [db.execute(selectTuples(where, sql`order by cp.checkpoint_id desc limit 1`))] as const);
  return result.rows[0] as unknown as WireTuple | undefined;
}

/** Newest first; checkpoint ids are time-ordered (uuid6), so `before` is a plain comparison. */
export async function listTuples(db: Database, principal: Principal, f: ListFilter): Promise<WireTuple[]> {
  const conditions: SQL[] = [sql`true`];
  if (f.threadId !== undefined) conditions.push(sql`cp.thread_id = ${f.threadId}`);
  if (f.checkpointNs !== undefined) conditions.push(sql`cp.checkpoint_ns = ${f.checkpointNs}`);
  if (f.checkpointId !== undefined) conditions.push(sql`cp.checkpoint_id = ${f.checkpointId}`);
  if (f.metadata && Object.keys(f.metadata).length) conditions.push(sql`cp.metadata @> ${JSON.stringify(f.metadata)}::jsonb`);
  if (f.before !== undefined) conditions.push(sql`cp.checkpoint_id < ${f.before}`);
  const limit = f.limit === undefined ? sql`` : sql`limit ${f.limit}`;
  const [result] = await runAs(db, principal, [
    db.execute(selectTuples(sql.join(conditions, sql` and `), sql`order by cp.checkpoint_id desc ${limit}`)),
  ] as const);
  return result.rows as unknown as WireTuple[];
}

/** Deletes the thread's checkpoints, blobs, writes and owner row; false when the caller has no such thread. */
export async function deleteThread(db: Database, principal: Principal, threadId: string): Promise<boolean> {
  const [, , , owner] = await runAs(db, principal, [
    db.execute(sql`delete from agent.checkpoint_writes where thread_id = ${threadId}`),
    db.execute(sql`delete from agent.checkpoint_blobs where thread_id = ${threadId}`),
    db.execute(sql`delete from agent.checkpoints where thread_id = ${threadId}`),
    db.execute(sql`delete from agent.checkpoint_threads where thread_id = ${threadId} returning thread_id`),
  ] as const);
  return owner.rows.length > 0;
}
