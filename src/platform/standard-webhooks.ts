/**
 * Standard Webhooks (https://www.standardwebhooks.com, the spec's "Verifying webhook authenticity"):
 * a `whsec_<base64>` secret, HMAC-SHA256 over `${webhook-id}.${webhook-timestamp}.${body}`, the
 * signature header a space-separated list of `v1,<base64>`, timestamps within 5 minutes. Workflows'
 * webhook triggers and the training callback verify with it (webhook-signature.ts adds the replay
 * check); ACTION nodes and alarm notifications sign with it.
 */

export const SECRET_PREFIX = "whsec_";
/** A secret as configured: `whsec_` and the base64 of 24 to 64 random bytes. */
export const WEBHOOK_SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/;
/** How far a webhook-timestamp may be from now, either way (the spec's recommendation). */
export const TOLERANCE_SECONDS = 5 * 60;
const MAX_SIGNATURES = 8;

const encoder = new TextEncoder();
const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

/** A new secret: `whsec_` and 32 random bytes in base64. */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(32)));
}

function secretBytes(secret: string): Uint8Array<ArrayBuffer> | null {
  const text = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  try {
    return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

async function hmac(key: Uint8Array<ArrayBuffer>, content: string): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, encoder.encode(content)));
}

/** The `v1,<base64>` signature of a message. */
export async function signStandardWebhook(secret: string, id: string, timestampSeconds: number, body: string): Promise<string> {
  const key = secretBytes(secret);
  if (!key) throw new TypeError("not a webhook secret: whsec_ and base64");
  return `v1,${toBase64(await hmac(key, `${id}.${timestampSeconds}.${body}`))}`;
}

/** Headers of a signed message: webhook-id, webhook-timestamp, webhook-signature. */
export async function standardWebhookHeaders(secret: string, id: string, body: string, now = new Date()): Promise<Record<string, string>> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": await signStandardWebhook(secret, id, timestamp, body) };
}

export type WebhookVerdict =
  | { ok: true; id: string; timestamp: number }
  | { ok: false; reason: "headers_missing" | "timestamp_invalid" | "timestamp_stale" | "signature_invalid"; message: string };

/** Compares in time independent of where the first difference is. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

const header = (headers: Headers | Record<string, string | undefined>, name: string) =>
  headers instanceof Headers ? headers.get(name) : (Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1] ?? null);

/**
 * What can be checked of a received message without its secret: the three headers present and
 * the timestamp within TOLERANCE_SECONDS of `now`. A receiver that must look the secret up first
 * refuses an unsigned or stale call here, before it reads anything.
 */
export function checkStandardWebhookHeaders(headers: Headers | Record<string, string | undefined>, now: Date): WebhookVerdict {
  const id = header(headers, "webhook-id");
  const timestampText = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!id || !timestampText || !signatures) return { ok: false, reason: "headers_missing", message: "webhook-id, webhook-timestamp and webhook-signature are required" };
  if (!/^\d{1,12}$/.test(timestampText)) return { ok: false, reason: "timestamp_invalid", message: "webhook-timestamp must be whole seconds since the epoch" };
  const timestamp = Number(timestampText);
  if (Math.abs(now.getTime() / 1000 - timestamp) > TOLERANCE_SECONDS) {
    return { ok: false, reason: "timestamp_stale", message: `webhook-timestamp is more than ${TOLERANCE_SECONDS} seconds from now` };
  }
  return { ok: true, id, timestamp };
}

/**
 * Verifies a received message: checkStandardWebhookHeaders(), then one of the listed `v1`
 * signatures the HMAC of the raw body (the exact bytes received, as text). Pure: replays (a
 * webhook-id seen before) are the caller's to refuse.
 */
export async function verifyStandardWebhook(secret: string, headers: Headers | Record<string, string | undefined>, body: string, now: Date): Promise<WebhookVerdict> {
  const checked = checkStandardWebhookHeaders(headers, now);
  if (!checked.ok) return checked;
  const { id, timestamp } = checked;
  const signatures = header(headers, "webhook-signature")!;
  const key = secretBytes(secret);
  if (!key) throw new TypeError("not a webhook secret: whsec_ and base64");
  const expected = await hmac(key, `${id}.${timestamp}.${body}`);
  // A bounded list: a sender rotating keys sends a few, never hundreds.
  for (const entry of signatures.split(" ").slice(0, MAX_SIGNATURES)) {
    const [version, signature] = entry.split(",", 2);
    if (version !== "v1" || !signature) continue;
    const given = secretBytes(signature);
    if (given && sameBytes(given, expected)) return { ok: true, id, timestamp };
  }
  return { ok: false, reason: "signature_invalid", message: "no v1 signature in webhook-signature matches the body" };
}
