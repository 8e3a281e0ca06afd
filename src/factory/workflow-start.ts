import type { Context } from "hono";
import { servicePrincipal, type Principal } from "../platform/auth";
import type { AppEnv, Bindings } from "../platform/context";
import { backgroundDatabase, runAs } from "../platform/db";
import { ApiError, fieldError, notFound } from "../platform/problem";
import { log } from "../platform/log";
import { runFactory, tenantOf, type FactoryAccess } from "./access";
import { changedRows, userActor } from "./audit";
import type { InstanceParams } from "./workflow-engine";
import { startStatements, type StartRequest } from "./workflow-instance-sql";
import { workflowInstances } from "./schema";

/**
 * Starting an instance (the execute route and every trigger): the workflow_instances row, PENDING,
 * in one round trip, then the Cloudflare Workflows instance of the same id. See
 * docs/factory-workflows.md, "Execution".
 */

export interface StartArgs {
  tenantId: string;
  workflowId: string;
  input: Record<string, unknown>;
  triggerType: StartRequest["triggerType"];
  /** The user who started it (manual, api); null for schedule, webhook and event triggers. */
  triggeredBy: string | null;
  traceId?: string;
  metadata?: Record<string, unknown>;
  /** The same key starts one instance however often it is given (a schedule slot, a webhook id). */
  idempotencyKey?: string;
}

/** A UUID named by a key (RFC 9562 v8 layout over SHA-256): the same workflow and key, the same instance id. */
async function keyedId(workflowId: string, key: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${workflowId}\n${key}`))).slice(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export async function startRequest(args: StartArgs): Promise<StartRequest> {
  return {
    instanceId: args.idempotencyKey ? await keyedId(args.workflowId, args.idempotencyKey) : crypto.randomUUID(),
    tenantId: args.tenantId,
    workflowId: args.workflowId,
    input: args.input,
    triggerType: args.triggerType,
    triggeredBy: args.triggeredBy,
    traceId: args.traceId ?? crypto.randomUUID(),
    metadata: args.metadata ?? {},
  };
}

type StartResults = [{ rows: Record<string, unknown>[] }, { rows: { found: boolean; problem: string[] | null; existing: string | null; created_by: string | null }[] }];

/** The started row, or the refusal: 404 unknown workflow or 422 input (naming the variable). */
export function startedRow(r: StartRequest, [inserted, state]: StartResults) {
  const row = changedRows(workflowInstances, inserted)[0];
  if (row) return { row, created: true };
  const s = state.rows[0]!;
  if (!s.found) throw notFound(`workflow ${r.workflowId}`);
  if (s.existing === r.workflowId) return { row: null, created: false };
  if (s.problem) throw fieldError(`json.${s.problem[0]}`, s.problem[1]!);
  throw new ApiError(409, "instance_exists", `instance ${r.instanceId} exists for another workflow`);
}

export interface WorkflowBinding {
  create(options: { id: string; params: InstanceParams }): Promise<unknown>;
  get(id: string): Promise<{ pause(): Promise<void>; resume(): Promise<void>; terminate(): Promise<void>; sendEvent(e: { type: string; payload: unknown }): Promise<void> }>;
}

/** The Workflows binding (wrangler.toml FACTORY_WORKFLOW); a 503 naming it when this Worker has none. */
export function workflowBinding(env: Bindings): WorkflowBinding {
  const binding = env.FACTORY_WORKFLOW as WorkflowBinding | undefined;
  if (!binding || typeof binding.create !== "function") throw new ApiError(503, "workflows_unavailable", "this Worker has no FACTORY_WORKFLOW binding (wrangler.toml [[workflows]])");
  return binding;
}

/** Creates the Workflows instance of a started row; an id that exists already (a repeated idempotency key) is the same instance. */
export async function createRun(env: Bindings, params: InstanceParams): Promise<void> {
  try {
    await workflowBinding(env).create({ id: params.instanceId, params });
  } catch (err) {
    if (/already exists|instance\.already_exists/i.test(String((err as Error)?.message))) return;
    log("error", "workflow instance not created", { instanceId: params.instanceId, error: String(err) });
    throw new ApiError(503, "workflows_unavailable", `the workflow engine did not accept instance ${params.instanceId}; it stays PENDING and times out unless started again`);
  }
}

/**
 * Starts an instance outside a request (schedule, webhook, event triggers; also the execute
 * route's logic without its caller): the row as the workflow's creator (or `triggeredBy`), with
 * row-level security, then the Workflows instance.
 */
export async function startInstance(env: Bindings, args: StartArgs): Promise<{ instanceId: string; status: string }> {
  const r = await startRequest(args);
  const { db } = backgroundDatabase(env, "wf-start");
  const actorId = args.triggeredBy;
  const principal: Principal = actorId ? { userId: actorId, tenantId: args.tenantId, roles: [], permissions: [] } : servicePrincipal("a9e47000-0000-4000-8000-00000000f313");
  const results = (await runAs(db, principal, startStatements(db, r))) as unknown as StartResults;
  const { row } = startedRow(r, results);
  const creator = results[1].rows[0]?.created_by ?? null;
  await createRun(env, { instanceId: r.instanceId, tenantId: args.tenantId, workflowId: args.workflowId, actorUserId: actorId ?? creator, traceId: r.traceId });
  return { instanceId: r.instanceId, status: row?.status ?? "PENDING" };
}

/**
 * Starts an instance as the request's caller: what POST /workflows/{id}/execute does, and the
 * chat's run_workflow (chat-workflow.ts) through the same code. One round trip:
 * factory.authorize() with `access`'s permission (workflow:execute) first in the batch, then the
 * row, inserted only when the input fits variables.input (startStatements); then the Workflows
 * instance. Refusals are the execute route's problems (403, 404, 422, 503).
 */
export async function startAsCaller(
  c: Context<AppEnv>,
  access: FactoryAccess,
  args: { workflowId: string; input: Record<string, unknown>; triggerType: "manual" | "api"; metadata?: Record<string, unknown> },
) {
  const { db, principal } = c.var;
  const tenantId = tenantOf(principal!);
  const r = await startRequest({ ...args, tenantId, triggeredBy: principal!.userId, traceId: userActor(c).origin.traceId ?? c.var.requestId });
  const results = (await runFactory(c, access, startStatements(db, r))) as unknown as StartResults;
  const { row } = startedRow(r, results);
  await createRun(c.env, { instanceId: r.instanceId, tenantId, workflowId: args.workflowId, actorUserId: principal!.userId, traceId: r.traceId });
  return row!;
}
