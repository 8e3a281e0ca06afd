/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/ §3.2): the trace id a request belongs
 * to. A caller's valid `traceparent` keeps its trace id, so the records of one request can be
 * found by the id the caller's own tracing shows; otherwise a new random one is minted.
 */

// version-traceid-parentid-flags; a future version may append fields after another dash (§3.2.4).
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ALL_ZERO = /^0+$/;

/** The trace id of a `traceparent` header value, or null when the value is not a valid one. */
export function traceIdOf(traceparent: string | undefined): string | null {
  const match = TRACEPARENT.exec(traceparent?.trim() ?? "");
  if (!match) return null;
  const [, version, traceId, parentId, , rest] = match as unknown as [string, string, string, string, string, string | undefined];
  // Version ff is forbidden; version 00 has exactly four fields; all-zero ids are invalid.
  if (version === "ff" || (version === "00" && rest !== undefined)) return null;
  if (ALL_ZERO.test(traceId) || ALL_ZERO.test(parentId)) return null;
  return traceId;
}

/** A new trace id: 16 random bytes as 32 lowercase hex digits, as §3.2.2.3 describes. */
export function newTraceId(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The caller's trace id when its traceparent is valid, else a new one. */
export const traceIdFor = (traceparent: string | undefined) => traceIdOf(traceparent) ?? newTraceId();
