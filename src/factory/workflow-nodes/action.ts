import { loadConfig } from "../../platform/config";
import { standardWebhookHeaders } from "../../platform/standard-webhooks";
import { NodeError } from "../workflow-errors";
import { nodeConfig } from "./config";
import type { NodeHandler } from "./types";

/**
 * ACTION: an outgoing HTTP call (a webhook or a notification), signed as a Standard Webhook with
 * FACTORY_ACTION_SIGNING_SECRET so the receiver can tell it came from this factory. The message id
 * is the instance and node (`msg_<instance>_<node>`), the same on every retry, so a receiver that
 * dedupes on webhook-id applies it once. 2xx → `{ status, body }`; 429 → RATE_LIMIT; any other
 * status → UPSTREAM_ERROR; no connection → NETWORK_ERROR; the node's timeout → TIMEOUT.
 * The config is the DSL's (https only, except to this machine; no header the node sets itself).
 */

/** The most of a receiver's answer kept as the node's result. */
const MAX_BODY_CHARS = 16 * 1024;

/** The headers with their paths resolved: each must still be text (the DSL's header values are strings or paths). */
function resolvedHeaders(ctx: Parameters<NodeHandler>[0], headers: Record<string, string> | undefined): Record<string, string> {
  const resolved = Object.entries((ctx.resolve(headers ?? {}) ?? {}) as Record<string, unknown>);
  const bad = resolved.find(([, v]) => typeof v !== "string");
  if (bad) throw new NodeError("VALIDATION_ERROR", `/config/headers/${bad[0]}: must resolve to a string`, { errors: [{ pointer: `/config/headers/${bad[0]}`, message: "must resolve to a string" }] });
  return Object.fromEntries(resolved) as Record<string, string>;
}

async function answerOf(response: Response): Promise<unknown> {
  const text = (await response.text()).slice(0, MAX_BODY_CHARS);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export const action: NodeHandler = async (ctx, raw) => {
  const secret = loadConfig(ctx.env).FACTORY_ACTION_SIGNING_SECRET;
  if (!secret) throw new NodeError("FORBIDDEN", "FACTORY_ACTION_SIGNING_SECRET is not configured: actions cannot be signed");
  const config = nodeConfig("ACTION", raw);
  const url = new URL(config.url);
  const method = config.method ?? "POST";
  const kind = config.kind ?? "webhook";
  const payload = {
    type: `factory.workflow.${kind}`,
    timestamp: new Date().toISOString(),
    data: { instance_id: ctx.instanceId, workflow_id: ctx.workflowId, node_id: ctx.nodeId, body: ctx.resolve(config.body ?? null) },
  };
  const body = JSON.stringify(payload);
  const headers = {
    ...resolvedHeaders(ctx, config.headers),
    "Content-Type": "application/json",
    "X-Trace-Id": ctx.traceId,
    ...(await standardWebhookHeaders(secret, `msg_${ctx.instanceId}_${ctx.nodeId}`, body)),
  };
  let response: Response;
  try {
    response = await fetch(url, { method, headers, body, signal: ctx.signal });
  } catch (err) {
    if (ctx.signal.aborted) throw new NodeError("TIMEOUT", `${url.host} did not answer within the node's timeout`);
    throw new NodeError("NETWORK_ERROR", `${url.host} could not be reached`, { cause: (err as Error).name });
  }
  const answer = await answerOf(response);
  if (response.status === 429) throw new NodeError("RATE_LIMIT", `${url.host} answered 429`, { status: 429 });
  if (!response.ok) throw new NodeError("UPSTREAM_ERROR", `${url.host} answered ${response.status}`, { status: response.status });
  return { status: response.status, body: answer };
};
