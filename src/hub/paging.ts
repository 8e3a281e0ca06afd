import { z } from "@hono/zod-openapi";

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
