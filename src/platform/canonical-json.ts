/**
 * RFC 8785 (JCS) canonical JSON and its SHA-256: cache keys over an input (the agent's §8.2 tool
 * executions, the factory's judgments), so two inputs that differ only in key order or number
 * spelling share one entry.
 */

/** A value JCS cannot serialise (RFC 8785 §3.1 requires I-JSON); `pointer` says where it is. */
export class NotCanonicalJsonError extends Error {
  constructor(
    readonly pointer: string,
    readonly reason: string,
  ) {
    super(`${pointer || "(root)"}: ${reason}`);
  }
}

// A UTF-16 surrogate without its partner: I-JSON (RFC 7493 §2.1) forbids it, JCS refuses it.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const escapeToken = (key: string) => key.replace(/~/g, "~0").replace(/\//g, "~1");

function serialiseString(s: string, pointer: string): string {
  if (LONE_SURROGATE.test(s)) throw new NotCanonicalJsonError(pointer, "string holds a lone UTF-16 surrogate");
  // RFC 8785 §3.2.2.2 is ECMAScript's JSON string serialisation: `"` and `\` escaped, \b \t \n \f \r,
  // other controls as lowercase \u00xx, everything else literal.
  return JSON.stringify(s);
}

function serialise(value: unknown, pointer: string): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new NotCanonicalJsonError(pointer, `${value} is not a JSON number`);
      // RFC 8785 §3.2.2.3 is ECMAScript's Number serialisation (shortest round-trip form; -0 is "0").
      return JSON.stringify(value);
    case "string":
      return serialiseString(value, pointer);
    case "object": {
      if (Array.isArray(value)) return `[${value.map((v, i) => serialise(v, `${pointer}/${i}`)).join(",")}]`;
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new NotCanonicalJsonError(pointer, "only plain objects are JSON");
      const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      // Default sort compares UTF-16 code units, which is exactly RFC 8785 §3.2.3's property order.
      const keys = entries.map(([k]) => k).sort();
      const record = value as Record<string, unknown>;
      return `{${keys.map((k) => `${serialiseString(k, pointer)}:${serialise(record[k], `${pointer}/${escapeToken(k)}`)}`).join(",")}}`;
    }
    default:
      throw new NotCanonicalJsonError(pointer, `a ${typeof value} is not JSON`);
  }
}

/** RFC 8785 canonical JSON. Object members whose value is undefined are left out, as JSON.stringify does. */
export function canonicalize(value: unknown): string {
  return serialise(value, "");
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 (hex) of a value's canonical JSON: `input_hash` of the agent's `exec_cache:{tool_name}:{input_hash}`, the hash of the factory's `judgment:{scope}:{hash}`. */
export const inputHash = (input: unknown): Promise<string> => sha256Hex(canonicalize(input));
