import { z } from "@hono/zod-openapi";
import { desc, eq, sql } from "drizzle-orm";
import { runAs } from "../platform/db";
import { createRouter } from "../platform/router";
import { defineRoute, json } from "../platform/route";
import { listOf } from "../platform/schemas";
import { columnsOf, rowSchema } from "../platform/table-schema";
import { mistakeStats } from "./events-schema";

/** What the API shows of a mistake_stats row: the owner and bookkeeping timestamps stay inside. */
const { userId: _userId, createdAt: _createdAt, updatedAt: _updatedAt, ...mistakeColumns } = columnsOf(mistakeStats);

export const Mistake = rowSchema(mistakeStats, {
  id: z.uuid().openapi({ description: "What a DRILL task's MISTAKE_DRILL_COMPLETED event names as mistakeId" }),
  occurrences: z.number().int().openapi({ description: "Step submissions that reported this code" }),
})
  .omit({ userId: true, createdAt: true, updatedAt: true })
  .openapi("ExamMistake");
export const MistakeList = listOf(Mistake, "ExamMistakeList");

const listMistakes = defineRoute({
  method: "get",
  path: "/mistakes",
  tags: ["exam"],
  summary: "The caller's most frequent error codes (Mistake Aggregator, docs/exam-events.md)",
  request: {
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(10).openapi({ description: "How many codes, 1–100" }) }),
  },
  responses: { 200: json(MistakeList, "Most frequent first") },
});

export const mistakesRoutes = createRouter().openapi(listMistakes, async (c) => {
  const { db } = c.var;
  const principal = c.var.principal!;
  const { limit } = c.req.valid("query");
  // Served by idx_mistake_stats_user_occurrences; RLS scopes it to the caller too.
  const [items] = await runAs(db, principal, [
    db
      .select(mistakeColumns)
      .from(mistakeStats)
      .where(eq(mistakeStats.userId, principal.userId))
      .orderBy(desc(mistakeStats.occurrences), sql`${mistakeStats.lastSeenAt} desc nulls last`, mistakeStats.errorCode)
      .limit(limit),
  ] as const);
  return c.json({ items }, 200);
});
