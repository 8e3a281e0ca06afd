/**
 * Standard Webhooks (https://www.standardwebhooks.com) signing: `webhook-id`, `webhook-timestamp`
 * (Unix seconds) and `webhook-signature` = `v1,` + base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`)),
 * the key being the base64 after a `whsec_` secret's prefix.
 */

const encoder = new TextEncoder();

function keyBytes(secret: string): Uint8Array {
  if (!secret.startsWith("whsec_")) throw new TypeError("a Standard Webhooks secret starts with whsec_");
  return Uint8Array.from(atob(secret.slice("whsec_".length)), (c) => c.charCodeAt(0));
}

function base64(bytes: ArrayBuffer): string {
  let binary = "";
  for (const b of new Uint8Array(bytes)) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** The signature of one message (without the `v1,` prefix). */
export async function signature(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", keyBytes(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return base64(await crypto.subtle.sign("HMAC", key, encoder.encode(`${id}.${timestamp}.${body}`)));
}

/** The three headers of a signed message. */
export async function signedHeaders(secret: string, id: string, body: string, now = Date.now()): Promise<Record<string, string>> {
  const timestamp = Math.floor(now / 1000);
  return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": `v1,${await signature(secret, id, timestamp, body)}` };
}
