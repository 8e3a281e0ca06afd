import { expect } from "vitest";
import { standardWebhookHeaders } from "../../src/platform/standard-webhooks";
import type { FactoryUser } from "./factory-helpers";
import { call, type CallResult } from "./helpers";

/** Workflows for the trigger tests (factory-workflow-trigger-*.test.ts), defined and activated through the API. */

export const WORKFLOWS = "/api/v1/factory/workflows";
export const hookPath = (workflowId: string) => `/api/v1/factory/hooks/workflows/${workflowId}`;
export const uniqueName = (prefix = "trg") => `${prefix}_${crypto.randomUUID().slice(0, 8)}`;

/** A workflow that runs here with nothing external: BI counts `rows` (default []); `input` adds variables. */
export function countDsl(name: string, input: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    variables: { input: { rows: { type: "array", default: [] }, ...input } },
    nodes: [{ id: "count", type: "BI", config: { source: "$.input.rows", aggregates: [{ name: "n", op: "count" }] } }],
  };
}

/** Version 1 of a new workflow with this trigger, activated unless told not to; the creation's body (with a webhook's secret). */
export async function defineWorkflow(user: FactoryUser, dsl: Record<string, unknown>, triggerConfig: Record<string, unknown> | null, { activate = true } = {}): Promise<any> {
  const res = await call("POST", WORKFLOWS, { token: user.bearer, body: { name: dsl.name, dsl, triggerConfig } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  if (activate) await activateWorkflow(user, res.body.id);
  return res.body;
}

export async function activateWorkflow(user: FactoryUser, id: string) {
  const res = await call("POST", `${WORKFLOWS}/${id}/activate`, { token: user.bearer });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** Leaves no active trigger behind for later ticks and runs. */
export async function deactivateWorkflow(user: FactoryUser, id: string) {
  const res = await call("POST", `${WORKFLOWS}/${id}/deactivate`, { token: user.bearer });
  expect([200, 409]).toContain(res.status);
}

/** The workflow's instances, newest first. */
export async function instancesOf(user: FactoryUser, workflowId: string): Promise<any[]> {
  const res = await call("GET", `${WORKFLOWS}/${workflowId}/instances?limit=100`, { token: user.bearer });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.items;
}

/** Polls until the workflow has `count` instances (or fails after `timeoutMs`). */
export async function untilInstances(user: FactoryUser, workflowId: string, count: number, timeoutMs = 30_000): Promise<any[]> {
  const deadline = Date.now() + timeoutMs;
  let items: any[] = [];
  while (Date.now() < deadline) {
    items = await instancesOf(user, workflowId);
    if (items.length >= count) return items;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`workflow ${workflowId} has ${items.length} instances, not ${count}`);
}

/** A Standard Webhooks call to the workflow's hook: the body as sent is what was signed. */
export async function sendHook(
  workflowId: string,
  secret: string,
  body: unknown,
  opts: { id?: string; at?: Date; signature?: string; headers?: Record<string, string>; env?: Record<string, string> } = {},
): Promise<CallResult> {
  const text = JSON.stringify(body);
  const signed = await standardWebhookHeaders(secret, opts.id ?? `msg_${crypto.randomUUID()}`, text, opts.at ?? new Date());
  if (opts.signature) signed["webhook-signature"] = opts.signature;
  return call("POST", hookPath(workflowId), { rawBody: text, headers: { "Content-Type": "application/json", ...signed, ...opts.headers }, env: opts.env as never });
}
