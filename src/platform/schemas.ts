import { z } from "@hono/zod-openapi";
import { CursorParam, Limit } from "./paging";
import { fieldError } from "./problem";

/** A calendar date a person would plan with: ISO, between 2000 and 2100. */
export const IsoDate = z.iso.date().refine((d) => d >= "2000-01-01" && d <= "2100-12-31", "must be between 2000-01-01 and 2100-12-31");

/** An instant as clients send it: ISO 8601 with a Z or an offset. */
export const Timestamp = z.iso.datetime({ offset: true });

/** Path parameters that are UUIDs, by name: `uuidParams("id")`, `uuidParams("id", "runId")`. */
export function uuidParams<K extends string>(...names: K[]) {
  return z.object(Object.fromEntries(names.map((n) => [n, z.uuid().openapi({ param: { name: n, in: "path" } })])) as Record<K, z.ZodUUID>);
}

/** A client-visible text key (tables keyed by TEXT rather than UUID). */
export const TextId = z.string().min(1).max(128);

/** Path parameters that are text keys, by name. */
export function textParams<K extends string>(...names: K[]) {
  return z.object(Object.fromEntries(names.map((n) => [n, TextId.openapi({ param: { name: n, in: "path" } })])) as Record<K, typeof TextId>);
}

/** Refuses a time or date range (`from`, `to` of a query) whose end lies before its start, naming `to`. */
export function checkRange(from: string | undefined, to: string | undefined, path = "query.to") {
  if (from !== undefined && to !== undefined && Date.parse(to) < Date.parse(from)) throw fieldError(path, "must not be before from");
}

/** `?limit=&cursor=` of every keyset list. */
export const PageQuery = { limit: Limit, cursor: CursorParam };

/** A page of a keyset list: its items and the cursor of the next page (null on the last). */
export const pageOf = <T extends z.ZodType>(item: T, name: string) =>
  z
    .object({ items: z.array(item), nextCursor: z.string().nullable().openapi({ description: "Pass as cursor for the next page; null on the last" }) })
    .openapi(name);

/** A whole list in one answer (short, bounded lists). */
export const listOf = <T extends z.ZodType>(item: T, name: string) => z.object({ items: z.array(item) }).openapi(name);

/** A JSON object given as a query parameter (for JSONB containment filters); NUL and depth are checked like any input. */
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
