import { z } from "@hono/zod-openapi";
import { sql, type AnyColumn, type SQL } from "drizzle-orm";
import { fieldError } from "./problem";

/**
 * Keyset pagination: a cursor is the sort key of the last row served, as base64url JSON, so each
 * page is one index range scan wherever the list starts. Clients treat it as opaque.
 */
export function encodeCursor(key: unknown): string {
  return btoa(JSON.stringify(key)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The key a cursor carries, checked against `shape` (undefined without a cursor); anything else is a 422 naming query.cursor. */
export function decodeCursor<T extends z.ZodType>(cursor: string | undefined, shape: T): z.infer<T> | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = shape.safeParse(JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/"))));
    if (parsed.success) return parsed.data;
  } catch {
    // not base64 or not JSON: reported below like any other bad cursor
  }
  throw fieldError("query.cursor", "is not a cursor this API issued");
}

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
