import { z } from "@hono/zod-openapi";
import { and, gte, lt, sql } from "drizzle-orm";
import { runAs } from "../platform/db";
import { ApiError } from "../platform/problem";
import { createRouter } from "../platform/router";
import { defineRoute, json } from "../platform/route";
import { Timestamp } from "../platform/schemas";
import { requireRole } from "../platform/auth";
import { analyticsDataset } from "./consumers";
import { eventMetrics } from "./events-schema";

const DAY_MS = 86_400_000;
/** Longest window one summary scans; the default is the last 7 days. */
const MAX_WINDOW_DAYS = 93;

/** The summary's window: [from, to), defaults to the 7 days before now. */
function window(from?: string, to?: string) {
  const end = to ? new Date(to) : new Date();
  const start = from ? new Date(from) : new Date(end.getTime() - 7 * DAY_MS);
  return { start, end };
}

const Query = z
  .object({
    from: Timestamp.optional().openapi({ description: "Start (inclusive); default `to` minus 7 days" }),
    to: Timestamp.optional().openapi({ description: "End (exclusive); default now" }),
  })
  .superRefine(({ from, to }, ctx) => {
    const { start, end } = window(from, to);
    if (start >= end) ctx.addIssue({ code: "custom", path: ["from"], message: "must be before to" });
    else if (end.getTime() - start.getTime() > MAX_WINDOW_DAYS * DAY_MS) ctx.addIssue({ code: "custom", path: ["from"], message: `window longer than ${MAX_WINDOW_DAYS} days` });
  });

const EventTypeSummary = z.object({
  eventType: z.string(),
  count: z.number().int(),
  users: z.number().int().openapi({ description: "Distinct learners" }),
  passRate: z.number().nullable().openapi({ description: "PASS share of events carrying a result (0–1)" }),
  averageScore: z.number().nullable(),
  averageRuntimeMs: z.number().nullable(),
  errorCodes: z.number().int().openapi({ description: "Error codes reported, summed" }),
});

export const Summary = z
  .object({
    from: z.iso.datetime(),
    to: z.iso.datetime(),
    events: z.number().int(),
    users: z.number().int(),
    byEventType: z.array(EventTypeSummary),
  })
  .openapi("ExamAnalyticsSummary");

const getSummary = defineRoute(
  {
    method: "get",
    path: "/analytics/summary",
    tags: ["exam"],
    summary: "Operational metrics of the exam events (Analytics Sink), admins only",
    request: { query: Query },
    responses: { 200: json(Summary, "Counts and rates per event type in the window") },
  },
  403,
  409,
);

export const analyticsRoutes = createRouter().openapi(getSummary, async (c) => {
  const { db } = c.var;
  const principal = c.var.principal!;
  requireRole(principal, ["admin"], "read the analytics summary");
  // With a dataset bound the sink writes there, not to Postgres: this table would be empty.
  if (analyticsDataset(c.env)) {
    throw new ApiError(409, "analytics_engine_sink", "metrics go to the Workers Analytics Engine dataset ANALYTICS; query them with its SQL API");
  }
  const query = c.req.valid("query");
  const { start, end } = window(query.from, query.to);
  const m = eventMetrics;
  // grouping sets: one row per event type plus the overall row (event_type null), in one statement.
  const [rows] = await runAs(db, principal, [
    db
      .select({
        eventType: m.eventType,
        count: sql<number>`count(*)::int`,
        users: sql<number>`count(distinct ${m.userId})::int`,
        passed: sql<number>`(count(*) filter (where ${m.result} = 'PASS'))::int`,
        judged: sql<number>`count(${m.result})::int`,
        averageScore: sql<number | null>`avg(${m.score})::float8`,
        averageRuntimeMs: sql<number | null>`avg(${m.runtimeMs})::float8`,
        errorCodes: sql<number>`coalesce(sum(${m.errorCount}), 0)::int`,
      })
      .from(m)
      .where(and(gte(m.occurredAt, start), lt(m.occurredAt, end)))
      .groupBy(sql`grouping sets ((${m.eventType}), ())`)
      .orderBy(m.eventType),
  ] as const);
  const overall = rows.find((r) => r.eventType === null);
  const byEventType = rows
    .filter((r) => r.eventType !== null)
    .map(({ passed, judged, ...r }) => ({ ...r, passRate: judged ? passed / judged : null }));
  return c.json({ from: start.toISOString(), to: end.toISOString(), events: overall?.count ?? 0, users: overall?.users ?? 0, byEventType }, 200);
});
