import { z } from "@hono/zod-openapi";
import { sql, type AnyColumn, type SQL } from "drizzle-orm";
import { inputProblem } from "./input";
import { fieldError } from "./problem";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Keyset pagination: a cursor is the sort key of the last row served, as base64url of its UTF-8
 * JSON, so each page is one index range scan wherever the list starts. Clients treat it as opaque.
 * Cursors are not signed: a forged one can only name another starting point of a list the caller
 * may read anyway (row-level security still decides what is visible), so decodeCursor only makes
 * sure it is one this API could have issued (canonical encoding, exact key shape, no NUL).
 */
export function encodeCursor(key: unknown): string {
  const bytes = encoder.encode(JSON.stringify(key));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const notACursor = () => fieldError("query.cursor", "is not a cursor this API issued");

function cursorJson(cursor: string): unknown {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw notACursor();
  try {
    const binary = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    const key: unknown = JSON.parse(decoder.decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0))));
    // Only the exact text encodeCursor makes: no padding, whitespace or stray bits smuggled in.
    if (encodeCursor(key) === cursor) return key;
  } catch {
    // not base64, not UTF-8 or not JSON: reported below like any other bad cursor
  }
  throw notACursor();
}

/** The key a cursor carries, checked against `shape` (undefined without a cursor); anything else is a 422 naming query.cursor. */
export function decodeCursor<T extends z.ZodType>(cursor: string | undefined, shape: T): z.infer<T> | undefined {
  if (cursor === undefined) return undefined;
  const key = cursorJson(cursor);
  const problem = inputProblem(key, "query.cursor");
  if (problem) throw fieldError(problem.path, problem.message);
  const parsed = shape.safeParse(key);
  if (!parsed.success) throw notACursor();
  return parsed.data;
}

/** Key parts: Postgres `timestamp::text`, exactTime() text, and a date. */
export const PgTimestampKey = z.string().regex(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?$/);
export const ExactTimeKey = z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
export const DateKey = z.iso.date();

/** Splits off the one extra row a list fetched to learn whether another page follows. */
export function paginate<T>(rows: T[], limit: number, keyOf: (last: T) => unknown): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(keyOf(last)) : null };
}

export const Limit = z.coerce.number().int().min(1).max(100).default(20).openapi({ description: "Page size (1–100, default 20)" });
export const CursorParam = z.string().max(512).optional().openapi({ description: "nextCursor of the previous page" });

/**
 * A timestamp column as exact ISO text (microseconds, UTC) for cursors: a JS Date keeps only
 * milliseconds, and a cursor rounded to them could skip or repeat rows.
 */
export const exactTime = (column: AnyColumn): SQL<string> =>
  sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
