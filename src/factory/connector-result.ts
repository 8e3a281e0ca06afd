/** What a connector query answers, whatever the source, and how it fails. */

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface QueryResult {
  /** Column names in the source's order (SQL) or in order of first appearance (HTTP). */
  columns: string[];
  rows: Record<string, Json>[];
  /** Rows returned (at most the row cap). */
  rowCount: number;
  /** True when the source had more rows than the cap: the rest were not read. */
  truncated: boolean;
  durationMs: number;
}

/**
 * Why a query did not answer rows: `refused` (the query itself, before or by the source's
 * rules, 422), `failed` (the source answered with an error, 422), `unreachable` (no connection,
 * authentication failed, the source broke, 502), `timeout` (past the connector's timeout, 504).
 * Messages never carry a credential (redact()).
 */
export class ConnectorError extends Error {
  constructor(
    readonly kind: "refused" | "failed" | "unreachable" | "timeout",
    message: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** `text` with every secret value replaced: sources may echo what they were sent. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join("[redacted]");
  return out.length > 500 ? `${out.slice(0, 500)}…` : out;
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** A driver's value as JSON: timestamps as ISO text, big integers as decimal text, bytes as `\x` hex. */
export function jsonValue(value: unknown): Json {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return `\\x${hex(value)}`;
  if (Array.isArray(value)) return value.map(jsonValue);
  if (typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonValue(v)]));
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return value as Json;
}

/** Rows cut to `maxRows`, with the columns seen and whether more were there. */
export function capped(rows: Record<string, Json>[], maxRows: number, columns: string[] | null, startedAt: number): QueryResult {
  const kept = rows.slice(0, maxRows);
  const seen = columns ?? [...new Set(kept.flatMap((row) => Object.keys(row)))];
  return { columns: seen, rows: kept, rowCount: kept.length, truncated: rows.length > maxRows, durationMs: Date.now() - startedAt };
}
