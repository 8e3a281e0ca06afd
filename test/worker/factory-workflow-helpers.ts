import { expect } from "vitest";
import { runAs } from "../../src/platform/db";
import { workflows, workflowSteps } from "../../src/factory/schema";
import type { WorkflowDefinition, WorkflowNode } from "../../src/factory/workflow-dsl";
import { as, db, type FactoryUser } from "./factory-helpers";
import { call, testEnv } from "./helpers";

/**
 * Workflows for the engine's tests, written straight into workflows and workflow_steps as the
 * tenant's admin (the DSL helper's POST /workflows replaces this at merge): nodes normalised per
 * the contract (step_order = array position from 1, timeout_seconds default 60, retry_policy).
 */
export async function insertWorkflow(
  admin: FactoryUser,
  dsl: Omit<WorkflowDefinition, "name"> & { name?: string },
  opts: { timeoutSeconds?: number; maxRetry?: number; isActive?: boolean } = {},
): Promise<string> {
  const name = dsl.name ?? `wf-${crypto.randomUUID().slice(0, 8)}`;
  const full = { ...dsl, name };
  const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(full))))].map((b) => b.toString(16).padStart(2, "0")).join("");
  const id = crypto.randomUUID();
  const steps = full.nodes.map((n: WorkflowNode, i) => ({
    workflowId: id,
    stepOrder: i + 1,
    nodeId: n.id,
    nodeType: n.type,
    config: n.config as never,
    timeoutSeconds: n.timeout_seconds ?? 60,
    retryPolicy: (n.retry_policy ?? null) as never,
  }));
  await runAs(db, as(admin.tenantId, admin.userId), [
    db.insert(workflows).values({
      id,
      tenantId: admin.tenantId,
      name,
      version: 1,
      dslJson: full as never,
      dslDigest: digest,
      isActive: opts.isActive ?? true,
      timeoutSeconds: opts.timeoutSeconds ?? 300,
      maxRetry: opts.maxRetry ?? 3,
      createdBy: admin.userId,
    }),
    db.insert(workflowSteps).values(steps),
  ] as const);
  return id;
}

export const actionUrl = (kind: "ok" | "flaky" | "fail" | "limited" | "slow", key: string) => `${testEnv.TEST_ACTION_URL}/${kind}/${key}`;

/** The calls the ACTION receiver got for `key`, in arrival order. */
export async function receiverCalls(key: string): Promise<{ path: string; verified: boolean; webhookId: string | null; body: any; at: number }[]> {
  return (await fetch(`${testEnv.TEST_ACTION_URL}/calls/${key}`)).json();
}

export async function execute(user: FactoryUser, workflowId: string, input: Record<string, unknown> = {}) {
  return call("POST", `/api/v1/factory/workflows/${workflowId}/execute`, { token: user.bearer, body: { input } });
}

/** Starts an instance and answers its id (the execute call must be a 202). */
export async function started(user: FactoryUser, workflowId: string, input: Record<string, unknown> = {}): Promise<string> {
  const res = await execute(user, workflowId, input);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.id as string;
}

export const instance = (user: FactoryUser, instanceId: string) => call("GET", `/api/v1/factory/workflows/instances/${instanceId}`, { token: user.bearer });

/** Polls the instance until `done` holds for it (or fails after `timeoutMs`). */
export async function until(user: FactoryUser, instanceId: string, done: (body: any) => boolean, timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: any;
  while (Date.now() < deadline) {
    const res = await instance(user, instanceId);
    expect(res.status).toBe(200);
    last = res.body;
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`instance ${instanceId} did not reach the expected state: ${JSON.stringify({ status: last?.status, logs: last?.logs?.map((l: any) => [l.nodeId, l.status, l.errorCode]) })}`);
}

export const ENDED = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"];
export const ended = (user: FactoryUser, instanceId: string, timeoutMs?: number) => until(user, instanceId, (b) => ENDED.includes(b.status), timeoutMs);

/** The log rows of one node, by phase (`run` rows have no metadata.phase). */
export const logsOf = (body: any, nodeId: string) => (body.logs as any[]).filter((l) => l.nodeId === nodeId);
