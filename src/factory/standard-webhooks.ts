/**
 * Signing as Standard Webhooks (standardwebhooks.com) specifies it: the secret is `whsec_` and
 * the base64 of its key bytes; the signature is base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`)),
 * sent as `webhook-signature: v1,<signature>` beside `webhook-id` and `webhook-timestamp`
 * (Unix seconds). A receiver recomputes it over the exact body bytes and refuses an old timestamp.
 */

export const WEBHOOK_SECRET_PREFIX = "whsec_";
/** Standard Webhooks keys are 24 to 64 random bytes. */
export const WEBHOOK_SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/;

const encoder = new TextEncoder();

function keyBytes(secret: string): Uint8Array {
  const raw = atob(secret.slice(WEBHOOK_SECRET_PREFIX.length));
  return Uint8Array.from(raw, (ch) => ch.charCodeAt(0));
}

const base64 = (bytes: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(bytes)));

/** The three headers of one signed delivery of `body` (the exact bytes to send). */
export async function signedWebhookHeaders(secret: string, id: string, body: string, timestampSeconds = Math.floor(Date.now() / 1000)): Promise<Record<string, string>> {
  const key = await crypto.subtle.importKey("raw", keyBytes(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const signature = await crypto.subtle.sign("HMAC", key, encoder.encode(`${id}.${timestampSeconds}.${body}`));
  return { "webhook-id": id, "webhook-timestamp": String(timestampSeconds), "webhook-signature": `v1,${base64(signature)}` };
}
