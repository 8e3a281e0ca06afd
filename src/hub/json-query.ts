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
