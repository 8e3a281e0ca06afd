import { expect } from "vitest";
import type { WorkflowDefinition } from "../../src/factory/workflow-dsl";
import type { FactoryUser } from "./factory-helpers";
import { call, testEnv } from "./helpers";

/**
 * A workflow of the admin's tenant through the API (POST /workflows, then POST
 * /workflows/{id}/activate unless `isActive` is false): the definition passes the DSL validator
 * or the test fails here, naming the refusal.
 */
export async function insertWorkflow(
  admin: FactoryUser,
  dsl: Omit<WorkflowDefinition, "name"> & { name?: string },
  opts: { timeoutSeconds?: number; maxRetry?: number; isActive?: boolean } = {},
): Promise<string> {
  const name = dsl.name ?? `wf_${crypto.randomUUID().slice(0, 8)}`;
  const created = await call("POST", "/api/v1/factory/workflows", {
    token: admin.bearer,
    body: { name, dsl: { ...dsl, name }, ...(opts.timeoutSeconds === undefined ? {} : { timeoutSeconds: opts.timeoutSeconds }), ...(opts.maxRetry === undefined ? {} : { maxRetry: opts.maxRetry }) },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  if (opts.isActive !== false) {
    const activated = await call("POST", `/api/v1/factory/workflows/${created.body.id}/activate`, { token: admin.bearer });
    expect(activated.status, JSON.stringify(activated.body)).toBe(200);
  }
  return created.body.id as string;
}

/** Globals that give BI a source with no input: `tick` nodes count an empty list. */
export const TICK_GLOBALS = { rows: { type: "array" as const, default: [] } };
/** A node that does nothing but succeed (a BI count over the empty global list). */
export const tick = (id: string) => ({ id, type: "BI" as const, config: { source: "$.global.rows", aggregates: [{ name: "n", op: "count" as const }] } });

/**
 * A hook of the test receiver (test/setup/webhook-receiver.ts) for an ACTION: `ok` answers 200,
 * `flaky` 500 for the first `failures` deliveries then 200, `fail` 500, `limited` 429, `slow` after 5 s.
 */
export const actionUrl = (kind: "ok" | "flaky" | "fail" | "limited" | "slow", key: string, failures?: number) =>
  `${testEnv.TEST_WEBHOOK_URL}/hooks/${kind === "ok" ? "" : `${kind}-`}${key}${failures === undefined ? "" : `?failures=${failures}`}`;

/** What the receiver got for `key` (any answer), in arrival order. */
export async function receiverCalls(key: string): Promise<{ path: string; verified: boolean; id: string | null; status: number; body: any; at: number }[]> {
  return (await fetch(`${testEnv.TEST_WEBHOOK_URL}/__deliveries/${key}`)).json();
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
