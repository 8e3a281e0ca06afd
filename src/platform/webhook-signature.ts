import type { Redis } from "@upstash/redis/cloudflare";
import { ApiError } from "./problem";
import { TOLERANCE_SECONDS, verifyStandardWebhook, type WebhookVerdict } from "./standard-webhooks";

/**
 * A route's Standard Webhooks check for calls another system makes to us: the signature and
 * timestamp as standard-webhooks.ts verifies them, then an id seen before is refused (Redis
 * remembers ids for twice the tolerance; when Redis cannot answer the call is refused, 503: a
 * replay check that fails open is none). Every refusal is a 401 problem that never echoes what
 * was sent.
 */

const refuse = (code: string, detail: string) => new ApiError(401, code, detail, {}, { "WWW-Authenticate": 'Signature realm="webhooks", headers="webhook-id webhook-timestamp webhook-signature"' });

const REFUSALS: Record<Exclude<WebhookVerdict, { ok: true }>["reason"], string> = {
  headers_missing: "webhook_signature_missing",
  timestamp_invalid: "webhook_signature_invalid",
  timestamp_stale: "webhook_timestamp_out_of_tolerance",
  signature_invalid: "webhook_signature_invalid",
};

/** A webhook-id we accept: short and plain, so it can key a replay record. */
export const WEBHOOK_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The 401 problem of a refused verdict (standard-webhooks.ts), with the challenge header. */
export const webhookRefusal = (verdict: Exclude<WebhookVerdict, { ok: true }>) => refuse(REFUSALS[verdict.reason], verdict.message);

/** The 401 problem of a webhook-id that is not WEBHOOK_ID_PATTERN. */
export const malformedWebhookId = () => refuse("webhook_signature_invalid", "webhook-id is malformed");

export interface WebhookHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

/**
 * Verifies a webhook call (standard-webhooks.ts) and records its id; returns the id. `scope`
 * namespaces the replay memory per receiving route.
 */
export async function verifyWebhook(secret: string, h: WebhookHeaders, body: string, redis: Redis, scope: string, now = Date.now()): Promise<string> {
  if (h.id !== undefined && !WEBHOOK_ID_PATTERN.test(h.id)) throw malformedWebhookId();
  const headers = { "webhook-id": h.id, "webhook-timestamp": h.timestamp, "webhook-signature": h.signature };
  const verdict = await verifyStandardWebhook(secret, headers, body, new Date(now));
  if (!verdict.ok) throw webhookRefusal(verdict);
  let fresh: unknown;
  try {
    fresh = await redis.set(`webhook:${scope}:${verdict.id}`, verdict.timestamp, { nx: true, ex: 2 * TOLERANCE_SECONDS });
  } catch {
    throw new ApiError(503, "replay_check_unavailable", "the webhook's replay check is unavailable (Redis); send it again later");
  }
  if (fresh !== "OK") throw refuse("webhook_replayed", `webhook ${verdict.id} was already received`);
  return verdict.id;
}
