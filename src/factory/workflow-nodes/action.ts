import { loadConfig } from "../../platform/config";
import { standardWebhookHeaders } from "../../platform/standard-webhooks";
import { NodeError } from "../workflow-errors";
import type { NodeHandler } from "./types";

/**
 * ACTION: an outgoing HTTP call (a webhook or a notification), signed as a Standard Webhook with
 * FACTORY_ACTION_SIGNING_SECRET so the receiver can tell it came from this factory. The message id
 * is the instance and node (`msg_<instance>_<node>`), the same on every retry, so a receiver that
 * dedupes on webhook-id applies it once. 2xx → `{ status, body }`; 429 → RATE_LIMIT; any other
 * status → UPSTREAM_ERROR; no connection → NETWORK_ERROR; the node's timeout → TIMEOUT.
 * https only, except to this machine (http://localhost, 127.0.0.1, [::1]) for development and tests.
 */

const METHODS = ["POST", "PUT", "PATCH"] as const;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);
/** The most of a receiver's answer kept as the node's result. */
const MAX_BODY_CHARS = 16 * 1024;
/** Headers the node sets itself: a mapping may not replace them. */
const RESERVED_HEADERS = new Set(["webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "host", "content-length"]);

const invalid = (message: string) => new NodeError("VALIDATION_ERROR", message);

function targetUrl(raw: unknown): URL {
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    throw invalid("config.url must be an absolute URL");
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) throw invalid("config.url must be https (http only to localhost)");
  return url;
}

function headersOf(raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw invalid("config.headers must be an object of strings");
  return Object.fromEntries(
    Object.entries(raw).map(([k, v]) => {
      if (typeof v !== "string") throw invalid(`config.headers.${k} must be a string`);
      if (RESERVED_HEADERS.has(k.toLowerCase())) throw invalid(`config.headers.${k} is set by the node itself`);
      return [k, v];
    }),
  );
}

async function answerOf(response: Response): Promise<unknown> {
  const text = (await response.text()).slice(0, MAX_BODY_CHARS);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export const action: NodeHandler = async (ctx, config) => {
  const secret = loadConfig(ctx.env).FACTORY_ACTION_SIGNING_SECRET;
  if (!secret) throw new NodeError("FORBIDDEN", "FACTORY_ACTION_SIGNING_SECRET is not configured: actions cannot be signed");
  const url = targetUrl(config.url);
  const method = (config.method ?? "POST") as (typeof METHODS)[number];
  if (!METHODS.includes(method)) throw invalid(`config.method must be one of ${METHODS.join(", ")}`);
  const kind = config.kind ?? "webhook";
  const payload = {
    type: `factory.workflow.${kind}`,
    timestamp: new Date().toISOString(),
    data: { instance_id: ctx.instanceId, workflow_id: ctx.workflowId, node_id: ctx.nodeId, body: ctx.resolve(config.body ?? null) },
  };
  const body = JSON.stringify(payload);
  const headers = {
    ...headersOf(ctx.resolve(config.headers ?? null)),
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
