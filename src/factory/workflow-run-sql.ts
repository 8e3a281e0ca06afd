import { sql, type SQL } from "drizzle-orm";
import type { Database } from "../platform/db";
import { instanceEndEvents } from "./workflow-events";
import { workflowExecutionLogs as L, workflowInstances as I, workflows as W, workflowSteps as S } from "./schema";

/**
 * The engine's statements (src/factory/workflow-engine.ts). Each durable step runs one batch of
 * them: its log row and the instance's mirror together (docs/factory-workflows.md, "Execution",
 * round trips). A log row's id is md5(instance:node:phase) as a UUID, so a retried or replayed
 * step upserts the same row. Every mirror update is conditional on the instance not being
 * finished (COMPLETED, FAILED, CANCELLED, TIMEOUT): a cancel or a timeout sweep is never undone.
 */

export const LIVE_STATUSES = ["PENDING", "RUNNING", "WAITING", "PAUSED"] as const;
const live = sql.raw(`('PENDING', 'RUNNING', 'WAITING', 'PAUSED')`);
const json = (v: unknown) => sql`${JSON.stringify(v ?? null)}::jsonb`;
const logId = (instanceId: string, node: SQL | string, phase: string) => sql`md5(${instanceId} || ':' || ${node} || ':' || ${phase})::uuid`;

/** What `begin` reads: the definition, its step rows by node id, the instance's input and state. */
export interface Definition {
  status: string;
  dsl: unknown;
  timeoutSeconds: number;
  maxRetry: number;
  input: Record<string, unknown>;
  global: Record<string, unknown>;
  startedAt: string;
  steps: Record<string, { stepId: string; timeoutSeconds: number; retryPolicy: unknown }>;
}

/**
 * The instance starts: PENDING (or PAUSED before it began) becomes RUNNING, runtime_context gets
 * its variables (input, global defaults, no nodes yet), the first node's log row is RUNNING; then
 * the definition is read back. A finished instance (cancelled while queued) is read but not moved.
 */
export function beginStatements(db: Database, instanceId: string) {
  const globals = sql`(select coalesce(jsonb_object_agg(g.key, g.value -> 'default'), '{}'::jsonb)
    from jsonb_each(coalesce(w.dsl_json #> '{variables,global}', '{}'::jsonb)) g where g.value ? 'default')`;
  const first = sql`(w.dsl_json -> 'nodes' -> 0 ->> 'id')`;
  return [
    db.execute(sql`
      update ${I} i set status = case when i.status = 'PAUSED' then 'PAUSED' else 'RUNNING' end,
        runtime_context = jsonb_build_object('variables', jsonb_build_object('input', i.input_context, 'global', ${globals}, 'nodes', '{}'::jsonb),
                                             'execution_path', '[]'::jsonb, 'circuit_breaker_state', '{}'::jsonb),
        checkpoint_data = jsonb_build_object('completed', '[]'::jsonb, 'next', jsonb_build_array(${first}), 'compensations', '[]'::jsonb, 'at', now()),
        current_step_id = (select s.id from ${S} s where s.workflow_id = w.id and s.node_id = ${first})
      from ${W} w where w.id = i.workflow_id and i.id = ${instanceId}::uuid and i.status in ('PENDING', 'PAUSED') and i.runtime_context = '{}'::jsonb`),
    db.execute(sql`
      insert into ${L} (id, instance_id, step_id, node_id, status)
      select ${logId(instanceId, sql`s.node_id`, "run")}, i.id, s.id, s.node_id, 'RUNNING'
      from ${I} i join ${W} w on w.id = i.workflow_id join ${S} s on s.workflow_id = w.id and s.node_id = ${first}
      where i.id = ${instanceId}::uuid and i.status in ('RUNNING', 'PAUSED')
      on conflict (id) do nothing`),
    db.execute<{ definition: Definition }>(sql`
      select jsonb_build_object('status', i.status, 'dsl', w.dsl_json,
        'timeoutSeconds', coalesce((w.dsl_json ->> 'timeout_seconds')::int, w.timeout_seconds), 'maxRetry', w.max_retry,
        'input', i.input_context, 'global', coalesce(i.runtime_context #> '{variables,global}', '{}'::jsonb), 'startedAt', i.started_at,
        'steps', (select coalesce(jsonb_object_agg(s.node_id, jsonb_build_object('stepId', s.id, 'timeoutSeconds', s.timeout_seconds, 'retryPolicy', s.retry_policy)), '{}'::jsonb)
                  from ${S} s where s.workflow_id = w.id)) as definition
      from ${I} i join ${W} w on w.id = i.workflow_id where i.id = ${instanceId}::uuid`),
  ] as const;
}

export interface LogWrite {
  instanceId: string;
  workflowId: string;
  nodeId: string;
  /** `run` for a node's own row, `undo` for the row of a compensation's undo. */
  phase: "run" | "undo";
  status: "RUNNING" | "COMPLETED" | "FAILED" | "RETRYING" | "SKIPPED";
  input?: unknown;
  output?: unknown;
  error?: { code: string; message: string } | null;
  attempt?: number;
  startedAt?: number;
  durationMs?: number;
  metadata?: Record<string, unknown>;
}

/** A node's log row as it stands after an attempt (inserted, or updated in place). */
export function logUpsert(db: Database, w: LogWrite) {
  const ended = w.status === "RUNNING" ? sql`null` : sql`now()`;
  const started = w.startedAt === undefined ? sql`now()` : sql`to_timestamp(${w.startedAt / 1000})`;
  return db.execute(sql`
    insert into ${L} (id, instance_id, step_id, node_id, status, input_data, output_data, error_message, error_code, retry_attempt, started_at, ended_at, duration_ms, metadata)
    select ${logId(w.instanceId, w.nodeId, w.phase)}, ${w.instanceId}::uuid, s.id, s.node_id, ${w.status}, ${json(w.input)}, ${json(w.output)},
           ${w.error?.message ?? null}, ${w.error?.code ?? null}, ${w.attempt ?? 0}, ${started}, ${ended}, ${w.durationMs ?? null}, ${json(w.metadata ?? {})}
    from ${S} s where s.workflow_id = ${w.workflowId}::uuid and s.node_id = ${w.nodeId}
    on conflict (id) do update set status = excluded.status, input_data = excluded.input_data, output_data = excluded.output_data,
      error_message = excluded.error_message, error_code = excluded.error_code, retry_attempt = excluded.retry_attempt,
      started_at = excluded.started_at, ended_at = excluded.ended_at, duration_ms = excluded.duration_ms, metadata = excluded.metadata`);
}

/** Log rows in one status for several nodes at once (RUNNING for the nodes that run next, SKIPPED for SWITCH branches not chosen). */
export function logRows(db: Database, instanceId: string, workflowId: string, nodeIds: string[], status: "RUNNING" | "SKIPPED") {
  const ended = status === "SKIPPED" ? sql`now()` : sql`null`;
  return db.execute(sql`
    insert into ${L} (id, instance_id, step_id, node_id, status, ended_at)
    select ${logId(instanceId, sql`s.node_id`, "run")}, ${instanceId}::uuid, s.id, s.node_id, ${status}, ${ended}
    from ${S} s where s.workflow_id = ${workflowId}::uuid and s.node_id in (select jsonb_array_elements_text(${json(nodeIds)}))
    on conflict (id) do nothing`);
}

export interface Mirror {
  instanceId: string;
  workflowId: string;
  nodeId: string;
  result: unknown;
  /** The nodes that run next (checkpoint_data.next); the first is current_step_id. */
  next: string[];
  compensations: unknown[];
  /** The instance ends here: COMPLETED. */
  final: boolean;
}

/**
 * The instance after a node completed: its result under runtime_context.variables.nodes, the node
 * appended to execution_path, checkpoint_data (completed nodes, the next ones, the registered
 * compensations), current_step_id; COMPLETED with ended_at and duration_ms when it was the last
 * (and workflow.completed sent: workflow-events.ts).
 * Built from the row's own values in SQL, so parallel branches updating it at once lose nothing.
 */
export function mirrorUpdate(db: Database, m: Mirror) {
  const node = sql`${m.nodeId}::text`;
  return db.execute<{ status: string }>(sql`
    with ended as (update ${I} set
      status = case when ${m.final} then 'COMPLETED' when status = 'PAUSED' then 'PAUSED' else 'RUNNING' end,
      current_step_id = coalesce((select s.id from ${S} s where s.workflow_id = ${m.workflowId}::uuid and s.node_id = ${m.next[0] ?? null}::text), current_step_id),
      runtime_context = jsonb_set(
        jsonb_set(runtime_context, '{variables,nodes}',
          coalesce(runtime_context #> '{variables,nodes}', '{}'::jsonb) || jsonb_build_object(${node}, jsonb_build_object('result', ${json(m.result)}, 'status', 'completed'))),
        '{execution_path}', coalesce(runtime_context -> 'execution_path', '[]'::jsonb) || to_jsonb(${node})),
      checkpoint_data = coalesce(checkpoint_data, '{}'::jsonb) || jsonb_build_object(
        'completed', coalesce(checkpoint_data -> 'completed', '[]'::jsonb) || to_jsonb(${node}),
        'next', ${json(m.next)}, 'compensations', ${json(m.compensations)}, 'at', now()),
      ended_at = case when ${m.final} then now() else ended_at end,
      duration_ms = case when ${m.final} then (extract(epoch from now() - started_at) * 1000)::int else duration_ms end
    where id = ${m.instanceId}::uuid and status in ${live}
    returning *),
    events as (${instanceEndEvents(sql`ended`)})
    select status from ended`);
}

/** One more retry on the instance's count. */
export const countRetry = (db: Database, instanceId: string) => db.execute(sql`update ${I} set retry_count = retry_count + 1 where id = ${instanceId}::uuid and status in ${live}`);

/** The instance ends FAILED or TIMEOUT with the error that ended it, and workflow.failed is sent (nothing when it already ended). */
export function finishStatement(db: Database, instanceId: string, status: "FAILED" | "TIMEOUT", error: { code: string; message: string }) {
  return db.execute<{ status: string }>(sql`
    with ended as (
      update ${I} set status = ${status}, last_error = ${error.message}, error_code = ${error.code}, ended_at = now(),
        duration_ms = (extract(epoch from now() - started_at) * 1000)::int
      where id = ${instanceId}::uuid and status in ${live}
      returning *),
    events as (${instanceEndEvents(sql`ended`)})
    select status from ended`);
}

/** The instance waits for an approval: WAITING (PAUSED stays), the request under metadata.approval. */
export function awaitApproval(db: Database, instanceId: string, workflowId: string, approval: Record<string, unknown>) {
  return db.execute<{ status: string }>(sql`
    update ${I} set status = case when status = 'PAUSED' then 'PAUSED' else 'WAITING' end,
      current_step_id = coalesce((select s.id from ${S} s where s.workflow_id = ${workflowId}::uuid and s.node_id = ${approval.node_id as string}), current_step_id),
      metadata = metadata || jsonb_build_object('approval', ${json(approval)} || jsonb_build_object('requested_at', now()))
    where id = ${instanceId}::uuid and status in ${live}
    returning status`);
}

/**
 * The approval's decision of record: a decision the API recorded stands; none yet (its wait timed
 * out) becomes `timed_out` here, in the same conditional update the API's decision races with.
 */
export function settleApproval(db: Database, instanceId: string, nodeId: string) {
  return [
    db.execute(sql`
      update ${I} set metadata = jsonb_set(metadata, '{approval}', (metadata -> 'approval') || jsonb_build_object('decision', 'timed_out', 'by', null, 'at', now(), 'comment', null))
      where id = ${instanceId}::uuid and metadata #>> '{approval,node_id}' = ${nodeId} and metadata #>> '{approval,decision}' is null`),
    db.execute<{ approval: Record<string, unknown> | null }>(sql`select metadata -> 'approval' as approval from ${I} where id = ${instanceId}::uuid`),
  ] as const;
}
