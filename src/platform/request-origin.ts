import type { Context } from "hono";
import type { AppEnv } from "./context";

/** Longest User-Agent kept in audit and event rows; the rest is the client's to pad. */
export const MAX_USER_AGENT = 512;

/** CF-Connecting-IP when it is an IP address (else null: inet columns hold it and the header is the client's to forge). */
export function clientIp(header: string | undefined): string | null {
  if (!header || header.length > 45) return null;
  if (/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(header)) return header;
  if (!/^[0-9a-f:.]+$/i.test(header) || !header.includes(":")) return null;
  try {
    // The URL parser validates IPv6 literals strictly; the compressed form it returns is what inet accepts.
    return new URL(`http://[${header}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
}

/**
 * The trace id of a W3C Trace Context `traceparent` header (version-traceid-parentid-flags), or
 * null when it is absent or invalid: version ff, an all-zero trace or parent id, or a version-00
 * header with anything after the flags. Later versions may append fields, which are ignored.
 */
export function traceIdOf(traceparent: string | undefined): string | null {
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/.exec(traceparent?.trim() ?? "");
  if (!m) return null;
  const [, version, traceId, parentId, , rest] = m;
  if (version === "ff" || (version === "00" && rest !== undefined)) return null;
  if (/^0+$/.test(traceId!) || /^0+$/.test(parentId!)) return null;
  return traceId!;
}

/** Where a request came from, as audit rows record it. */
export interface RequestOrigin {
  ip: string | null;
  userAgent: string | null;
  /** The caller's W3C trace id when sent, else the request id. */
  traceId: string;
}

export function requestOrigin(c: Context<AppEnv>): RequestOrigin {
  return {
    ip: clientIp(c.req.header("CF-Connecting-IP")),
    userAgent: c.req.header("User-Agent")?.slice(0, MAX_USER_AGENT) ?? null,
    traceId: traceIdOf(c.req.header("traceparent")) ?? c.get("requestId"),
  };
}
