import type { Redis } from "@upstash/redis/cloudflare";
import { ApiError } from "./problem";

/**
 * Standard Webhooks (https://www.standardwebhooks.com) verification for calls another system
 * makes to us: headers `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`
 * (space-separated `v1,<base64 HMAC-SHA256>` entries, any of which may match), signed content
 * `${id}.${timestamp}.${body}`, the key the base64 after the secret's `whsec_`. A timestamp more
 * than TOLERANCE_SECONDS away from now is refused, and so is an id seen before (Redis remembers
 * ids for twice the tolerance; when Redis cannot answer the call is refused, 503: a replay check
 * that fails open is none). Every refusal is a 401 problem that never echoes what was sent.
 */

export const TOLERANCE_SECONDS = 5 * 60;
const MAX_SIGNATURES = 8;

const refuse = (code: string, detail: string) => new ApiError(401, code, detail, {}, { "WWW-Authenticate": 'Signature realm="webhooks", headers="webhook-id webhook-timestamp webhook-signature"' });

function base64Bytes(text: string): Uint8Array | null {
  try {
    return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

const hmacKey = (secret: string) =>
  crypto.subtle.importKey("raw", base64Bytes(secret.slice("whsec_".length)) ?? new Uint8Array(), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);

/** The `v1,<base64>` signature of a payload, as the sender computes it (tests and documentation). */
export async function signWebhook(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), new TextEncoder().encode(`${id}.${timestamp}.${body}`));
  return `v1,${btoa(String.fromCharCode(...new Uint8Array(mac)))}`;
}

export interface WebhookHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

/**
 * Verifies a webhook call and records its id; returns the id. `scope` namespaces the replay
 * memory per receiving route. Signature comparison is crypto.subtle.verify (constant time).
 */
export async function verifyWebhook(secret: string, h: WebhookHeaders, body: string, redis: Redis, scope: string, now = Date.now()): Promise<string> {
  if (!h.id || !h.timestamp || !h.signature) throw refuse("webhook_signature_missing", "webhook-id, webhook-timestamp and webhook-signature headers are required");
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(h.id)) throw refuse("webhook_signature_invalid", "webhook-id is malformed");
  if (!/^\d{1,12}$/.test(h.timestamp)) throw refuse("webhook_signature_invalid", "webhook-timestamp must be Unix seconds");
  const timestamp = Number(h.timestamp);
  if (Math.abs(now / 1000 - timestamp) > TOLERANCE_SECONDS) throw refuse("webhook_timestamp_out_of_tolerance", `webhook-timestamp is more than ${TOLERANCE_SECONDS} seconds from now`);
  const key = await hmacKey(secret);
  const data = new TextEncoder().encode(`${h.id}.${h.timestamp}.${body}`);
  let valid = false;
  for (const entry of h.signature.split(" ").slice(0, MAX_SIGNATURES)) {
    const [version, sig] = entry.split(",", 2);
    const bytes = version === "v1" && sig ? base64Bytes(sig) : null;
    if (bytes && bytes.length === 32 && (await crypto.subtle.verify("HMAC", key, bytes, data))) valid = true;
  }
  if (!valid) throw refuse("webhook_signature_invalid", "no webhook-signature entry matches the payload");
  let fresh: unknown;
  try {
    fresh = await redis.set(`webhook:${scope}:${h.id}`, timestamp, { nx: true, ex: 2 * TOLERANCE_SECONDS });
  } catch {
    throw new ApiError(503, "replay_check_unavailable", "the webhook's replay check is unavailable (Redis); send it again later");
  }
  if (fresh !== "OK") throw refuse("webhook_replayed", `webhook ${h.id} was already received`);
  return h.id;
}
