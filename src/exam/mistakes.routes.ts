import { createRoute, z } from "@hono/zod-openapi";
import { desc, eq, sql } from "drizzle-orm";
import { runAs } from "../platform/db";
import { problemResponses } from "../platform/openapi";
import { createRouter } from "../platform/router";
import { mistakeStats } from "./events-schema";

const Mistake = z
  .object({
    id: z.uuid().openapi({ description: "What a DRILL task's MISTAKE_DRILL_COMPLETED event names as mistakeId" }),
    errorCode: z.string(),
    occurrences: z.number().int().openapi({ description: "Step submissions that reported this code" }),
    drillsCompleted: z.number().int(),
    lastSeenAt: z.iso.datetime().nullable(),
    lastDrilledAt: z.iso.datetime().nullable(),
  })
  .openapi("ExamMistake");

const listMistakes = createRoute({
  method: "get",
  path: "/mistakes",
  tags: ["exam"],
  summary: "The caller's most frequent error codes (Mistake Aggregator, docs/exam-events.md)",
  request: {
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(10).openapi({ description: "How many codes, 1–100" }) }),
  },
  responses: {
    200: { description: "Most frequent first", content: { "application/json": { schema: z.object({ items: z.array(Mistake) }) } } },
    ...problemResponses(401, 422, 429),
  },
});

export const mistakesRoutes = createRouter().openapi(listMistakes, async (c) => {
  const { db } = c.var;
  const principal = c.var.principal!;
  const { limit } = c.req.valid("query");
  // Served by idx_mistake_stats_user_occurrences; RLS scopes it to the caller too.
  const [items] = await runAs(db, principal, [
    db
      .select({
        id: mistakeStats.id,
        errorCode: mistakeStats.errorCode,
        occurrences: mistakeStats.occurrences,
        drillsCompleted: mistakeStats.drillsCompleted,
        lastSeenAt: mistakeStats.lastSeenAt,
        lastDrilledAt: mistakeStats.lastDrilledAt,
      })
      .from(mistakeStats)
      .where(eq(mistakeStats.userId, principal.userId))
      .orderBy(desc(mistakeStats.occurrences), sql`${mistakeStats.lastSeenAt} desc nulls last`, mistakeStats.errorCode)
      .limit(limit),
  ] as const);
  return c.json({ items }, 200);
});
