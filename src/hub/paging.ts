import { z } from "@hono/zod-openapi";
import { ApiError } from "../platform/problem";

/**
 * Keyset pagination: the cursor is the sort key of the last row served (base64url JSON), so a page
 * is one index range scan wherever the list starts. Timestamps travel as Postgres' own text so
 * microseconds survive the round trip.
 */
export function encodeCursor(key: readonly (string | number)[]): string {
  return btoa(JSON.stringify(key)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeCursor<T extends z.ZodType>(cursor: string | undefined, shape: T): z.infer<T> | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = shape.safeParse(JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/"))));
    if (parsed.success) return parsed.data;
  } catch {
    // falls through to the problem below
  }
  throw new ApiError(422, "invalid_cursor", "cursor is not one this API issued", { errors: [{ path: "query.cursor", message: "invalid cursor" }] });
}

export const Limit = z.coerce.number().int().min(1).max(100).default(20).openapi({ description: "page size (1–100)" });
export const Cursor = z.string().max(512).optional().openapi({ description: "nextCursor of the previous page" });

/** A JSON object given as a query parameter (for JSONB containment filters). */
export const JsonObjectParam = z
  .string()
  .max(2048)
  .transform((s, ctx) => {
    try {
      const v = JSON.parse(s);
      if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // reported below
    }
    ctx.addIssue({ code: "custom", message: "must be a JSON object" });
    return z.NEVER;
  });

export const Timestamp = z.iso.datetime({ offset: true });

/** Postgres TIMESTAMP text (UTC) of an ISO instant. */
export const toPgTimestamp = (iso: string | Date) => new Date(iso).toISOString().replace("T", " ").replace("Z", "");

/** ISO instant of Postgres TIMESTAMP text (UTC), for rows read with raw SQL. */
export const fromPgTimestamp = (t: string) => new Date(`${t.replace(" ", "T")}Z`).toISOString();
