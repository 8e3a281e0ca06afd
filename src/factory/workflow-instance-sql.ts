import { and, asc, eq, sql, type SQL } from "drizzle-orm";
import type { Database } from "../platform/db";
import { columnsOf } from "../platform/table-schema";
import { audited, type Actor } from "./audit";
import { workflowExecutionLogs as L, workflowInstances as I, workflows as W, workflowSteps as S } from "./schema";

/** The statements of the instance routes and startInstance (docs/factory-workflows.md, "Execution"). */

const json = (v: unknown) => sql`${JSON.stringify(v ?? null)}::jsonb`;

export interface StartRequest {
  instanceId: string;
  /** The tenant the workflow must belong to (checked beside row-level security: triggers may run as the service role). */
  tenantId: string;
  workflowId: string;
  input: Record<string, unknown>;
  triggerType: "manual" | "api" | "schedule" | "webhook" | "event";
  triggeredBy: string | null;
  traceId: string;
  metadata: Record<string, unknown>;
}

/**
 * The instance row, PENDING, written only when the workflow is visible, the input fits its
 * variables.input (factory.workflow_input_problem, defaults filled in by factory.workflow_input);
 * then why not, when it was not. An instance id that exists
 * already (an idempotency key used twice) inserts nothing and reads the existing row.
 */
export function startStatements(db: Database, r: StartRequest) {
  return [
    db.execute(sql`
      insert into ${I} (id, workflow_id, tenant_id, status, trigger_type, triggered_by, input_context, trace_id, metadata)
      select ${r.instanceId}::uuid, w.id, w.tenant_id, 'PENDING', ${r.triggerType}, ${r.triggeredBy}::uuid, factory.workflow_input(w.dsl_json, ${json(r.input)}),
             ${r.traceId}, ${json(r.metadata)} || jsonb_build_object('workflow_version', w.version, 'workflow_active', w.is_active)
      from ${W} w
      where w.id = ${r.workflowId}::uuid and w.tenant_id = ${r.tenantId}::uuid and factory.workflow_input_problem(w.dsl_json, ${json(r.input)}) is null
      on conflict (id) do nothing
      returning *`),
    db.execute<{ found: boolean; problem: string[] | null; existing: string | null; created_by: string | null }>(sql`
      select w.id is not null as found, factory.workflow_input_problem(w.dsl_json, ${json(r.input)}) as problem,
             w.created_by,
             (select e.workflow_id::text from ${I} e where e.id = ${r.instanceId}::uuid and e.tenant_id = ${r.tenantId}::uuid) as existing
      from (select 1) as one left join ${W} w on w.id = ${r.workflowId}::uuid and w.tenant_id = ${r.tenantId}::uuid`),
  ] as const;
}

/** The node current_step_id names. */
export const currentNodeId = sql<string | null>`(select s.node_id from ${S} s where s.id = ${I.currentStepId})`;

/** One instance as the API shows it, with the node it is at. */
export const instanceRow = (db: Database, instanceId: string) =>
  db
    .select({ ...columnsOf(I), currentNodeId })
    .from(I)
    .where(eq(I.id, instanceId));

/** An instance's log rows in the order they started. */
export const instanceLogs = (db: Database, instanceId: string) =>
  db.select(columnsOf(L)).from(L).where(eq(L.instanceId, instanceId)).orderBy(asc(L.startedAt), asc(L.id));

export const workflowVisible = (db: Database, workflowId: string) => db.select({ id: W.id }).from(W).where(eq(W.id, workflowId));

export type ControlName = "pause" | "resume" | "cancel";

/** The instance control moves (docs/factory-workflows.md, "Controls"): the states each accepts and what it writes. */
export const CONTROLS: Record<ControlName, { from: readonly string[]; set: Record<string, SQL> }> = {
  pause: {
    from: ["PENDING", "RUNNING", "WAITING"],
    set: { status: sql`'PAUSED'`, metadata: sql`${I.metadata} || jsonb_build_object('paused_from', ${I.status}, 'paused_at', now())` },
  },
  resume: {
    from: ["PAUSED"],
    set: {
      status: sql`coalesce(${I.metadata} ->> 'paused_from', 'RUNNING')`,
      metadata: sql`(${I.metadata} - 'paused_from') || jsonb_build_object('resumed_at', now())`,
    },
  },
  cancel: {
    from: ["PENDING", "RUNNING", "WAITING", "PAUSED"],
    set: {
      status: sql`'CANCELLED'`,
      endedAt: sql`now()`,
      durationMs: sql`(extract(epoch from now() - ${I.startedAt}) * 1000)::int`,
      lastError: sql`'cancelled by ' || app.user_id()::text`,
      errorCode: sql`'CANCELLED'`,
    },
  },
};

const inStates = (from: readonly string[]) => sql`${I.status} in (${sql.join(from.map((s) => sql`${s}`), sql`, `)})`;

/** A control move: one conditional, audited update; then the instance as it stands (to answer, or to explain a 409). */
export function controlStatements(db: Database, actor: Actor, instanceId: string, name: ControlName) {
  const move = CONTROLS[name];
  const where = and(eq(I.id, instanceId), inStates(move.from))!;
  const change = db.update(I).set(move.set).where(where).returning();
  return [audited(db, actor, { action: name, resourceType: "workflow_instance", table: I, change, where }), instanceRow(db, instanceId)] as const;
}

/**
 * An approval decision, recorded on the instance waiting at an APPROVAL node (metadata.approval)
 * when the caller is one of its approvers (a role or user id it names; anyone holding
 * approval:decide when it names none) and nothing decided it yet: audited as `approve` or
 * `reject`. Then the instance and the caller's role (to explain a refusal).
 */
export function approvalStatements(db: Database, actor: Actor, instanceId: string, decision: "approved" | "rejected", comment: string | null) {
  const approvers = sql`${I.metadata} -> 'approval' -> 'approvers'`;
  const mayDecide = sql`(jsonb_typeof(${approvers}) is distinct from 'object'
      or (${approvers} -> 'roles' is null and ${approvers} -> 'user_ids' is null)
      or coalesce(${approvers} -> 'user_ids', '[]'::jsonb) ? app.user_id()::text
      or coalesce(${approvers} -> 'roles', '[]'::jsonb) ? (select u.role from factory.users u where u.id = app.user_id()))`;
  const where = and(eq(I.id, instanceId), sql`${I.status} = 'WAITING' and ${I.metadata} #>> '{approval,decision}' is null and ${mayDecide}`)!;
  const record = sql`jsonb_build_object('decision', ${decision}::text, 'by', app.user_id()::text, 'at', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'comment', ${comment}::text)`;
  const change = db
    .update(I)
    .set({ metadata: sql`jsonb_set(${I.metadata}, '{approval}', (${I.metadata} -> 'approval') || ${record})` })
    .where(where)
    .returning();
  return [
    audited(db, actor, { action: decision === "approved" ? "approve" : "reject", resourceType: "workflow_instance", table: I, change, where }),
    instanceRow(db, instanceId),
    db.execute<{ may_decide: boolean }>(sql`select ${mayDecide} as may_decide from ${I} where ${I.id} = ${instanceId}::uuid`),
  ] as const;
}
