/**
 * Secrets at rest: AES-256-GCM (WebCrypto) under keys from configuration, each named by a key id
 * so keys can rotate. The sealed form is `v1.<kid>.<iv>.<ciphertext>` (base64url): the kid picks
 * the key that opens it, so text sealed under a retired key still opens while that key stays
 * listed. Additional data binds a sealed value to its owner (e.g. a row's tenant and id): moved
 * to another row, it no longer opens.
 */

export interface SealingKey {
  kid: string;
  /** 32 bytes: AES-256. */
  raw: Uint8Array<ArrayBuffer>;
}

const KID = /^[A-Za-z0-9_-]{1,32}$/;
const VERSION = "v1";

/** Why a sealed value did not open; never says anything of its content. */
export class UnsealError extends Error {
  constructor(readonly reason: "malformed" | "unknown_key" | "tampered", readonly kid?: string) {
    super(reason === "unknown_key" ? `sealed under key ${kid}, which the configuration no longer lists` : `sealed value is ${reason}`);
  }
}

const toBase64Url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

function fromBase64(text: string): Uint8Array<ArrayBuffer> | null {
  const standard = text.replace(/-/g, "+").replace(/_/g, "/");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(standard)) return null;
  try {
    return Uint8Array.from(atob(standard), (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

/**
 * `kid:base64key,kid:base64key,...`, the first the current key (new values are sealed under it).
 * Throws a message naming the faulty entry by position and kid, never a key.
 */
export function parseSealingKeys(text: string): SealingKey[] {
  const entries = text.split(",").map((s) => s.trim()).filter(Boolean);
  if (!entries.length) throw new Error("must list at least one kid:base64key");
  const keys = entries.map((entry, i) => {
    const colon = entry.indexOf(":");
    const kid = colon > 0 ? entry.slice(0, colon) : "";
    if (!KID.test(kid)) throw new Error(`entry ${i + 1} must be kid:base64key, the kid 1-32 letters, digits, _ or -`);
    const raw = fromBase64(entry.slice(colon + 1));
    if (raw?.length !== 32) throw new Error(`key ${kid} must be 32 bytes (AES-256) in base64`);
    return { kid, raw };
  });
  const kids = keys.map((k) => k.kid);
  const repeated = kids.find((kid, i) => kids.indexOf(kid) !== i);
  if (repeated) throw new Error(`key id ${repeated} is listed twice`);
  return keys;
}

const imported = new WeakMap<Uint8Array, Promise<CryptoKey>>();
const cryptoKey = (key: SealingKey) => {
  let k = imported.get(key.raw);
  if (!k) imported.set(key.raw, (k = crypto.subtle.importKey("raw", key.raw, "AES-GCM", false, ["encrypt", "decrypt"])));
  return k;
};

const encoder = new TextEncoder();

/** Seals `plaintext` under the current (first) key, bound to `owner`. */
export async function seal(keys: readonly SealingKey[], plaintext: string, owner: string): Promise<string> {
  const key = keys[0];
  if (!key) throw new Error("no sealing key");
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(owner) }, await cryptoKey(key), encoder.encode(plaintext));
  return [VERSION, key.kid, toBase64Url(iv), toBase64Url(new Uint8Array(ct))].join(".");
}

/** The key id a sealed value names, or null when it is no sealed value. */
export function sealedKeyId(sealed: string): string | null {
  const parts = sealed.split(".");
  return parts.length === 4 && parts[0] === VERSION && KID.test(parts[1]!) ? parts[1]! : null;
}

/** Opens a value sealed under any listed key for `owner`; an UnsealError otherwise. */
export async function unseal(keys: readonly SealingKey[], sealed: string, owner: string): Promise<string> {
  const kid = sealedKeyId(sealed);
  const [, , ivText, ctText] = sealed.split(".");
  const iv = fromBase64(ivText ?? "");
  const ct = fromBase64(ctText ?? "");
  if (!kid || iv?.length !== 12 || !ct) throw new UnsealError("malformed");
  const key = keys.find((k) => k.kid === kid);
  if (!key) throw new UnsealError("unknown_key", kid);
  try {
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(owner) }, await cryptoKey(key), ct);
    return new TextDecoder().decode(plain);
  } catch {
    throw new UnsealError("tampered", kid);
  }
}
