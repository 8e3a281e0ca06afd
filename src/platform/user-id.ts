/**
 * The user id of a token's subject (README "User ids from any identity provider"). Every system
 * keys users by UUID, but most identity providers issue other subjects (`auth0|…`, `user_…`,
 * Firebase uids, Google's digits), so those map to a UUIDv5 (RFC 9562 §5.5) over the issuer and
 * the subject: stable across tokens, distinct per issuer, computable ahead of time.
 */

/** This project's UUIDv5 namespace for user ids. Changing it would give every mapped user a new id. */
export const USER_ID_NAMESPACE = "59b4a915-5dc6-446a-8508-7540df9cb0c8";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** UUIDv5 of `name` (UTF-8) in `namespace`: SHA-1 of namespace bytes + name bytes, version 5, RFC 9562 variant. */
export async function uuidv5(namespace: string, name: string): Promise<string> {
  if (!UUID.test(namespace)) throw new TypeError("namespace must be a UUID");
  const hex = namespace.replace(/-/g, "");
  const nameBytes = new TextEncoder().encode(name);
  const data = new Uint8Array(16 + nameBytes.length);
  for (let i = 0; i < 16; i++) data[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  data.set(nameBytes, 16);
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-1", data)).slice(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const out = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${out.slice(0, 8)}-${out.slice(8, 12)}-${out.slice(12, 16)}-${out.slice(16, 20)}-${out.slice(20)}`;
}

/**
 * A subject that is already a UUID (any version, with dashes) is the user id, lowercased: ids
 * issued before this mapping stay valid. Any other subject maps to
 * uuidv5(USER_ID_NAMESPACE, issuer + "\n" + subject). Subjects hold no control characters
 * (src/platform/auth.ts), so the line feed separates the two unambiguously.
 */
export function userIdFor(issuer: string, subject: string): Promise<string> {
  if (UUID.test(subject)) return Promise.resolve(subject.toLowerCase());
  return uuidv5(USER_ID_NAMESPACE, `${issuer}\n${subject}`);
}
