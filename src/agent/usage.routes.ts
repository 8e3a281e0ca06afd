import { z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { runAs } from "../platform/db";
import { fieldError, notFound } from "../platform/problem";
import { json } from "../platform/route";
import { createRouter } from "../platform/router";
import { checkRange, Timestamp } from "../platform/schemas";
import { orFallback } from "../platform/redis";
import { agentRoute, callerOrg, requireAgentRole } from "./access";
import { utcDay } from "../platform/daily-quota";
import { dailyCountKey } from "./quota";
import { METRIC_TYPES, organizations } from "./schema";
import { usageReport } from "./usage-sql";

/** A report spans at most this much: 31 days of hourly rows per user stay a bounded answer. */
const MAX_RANGE_MS = 31 * 24 * 60 * 60 * 1000;

const Figure = z.number().nullable();
const UsageReport = z
  .object({
    organizationId: z.uuid(),
    from: z.iso.datetime(),
    to: z.iso.datetime(),
    metrics: z.array(
      z.object({
        metricType: z.enum(METRIC_TYPES),
        total: Figure,
        byUser: z.array(z.object({ userId: z.uuid().nullable(), value: Figure })),
        hourly: z.array(z.object({ periodStart: z.iso.datetime(), value: Figure })),
      }),
    ),
  })
  .openapi("AgentUsageReport");

const Quota = z.object({ limit: z.int().nullable(), used: z.int(), resetsAt: z.iso.datetime() });
const QuotaFigures = z
  .object({
    organizationId: z.uuid(),
    dailyRequests: Quota.extend({ day: z.iso.date(), used: z.int().nullable().openapi({ description: "null while Redis is unreachable" }) }),
    monthlyTokens: Quota.extend({ month: z.iso.date().nullable() }),
  })
  .openapi("AgentQuotaFigures");

const tags = ["agent"];

const report = agentRoute(
  {
    method: "get",
    path: "/usage",
    tags,
    summary: "The organization's hourly usage rollups over [from, to) (admins)",
    request: {
      query: z.object({
        from: Timestamp.openapi({ description: "First hour included (rollups whose period starts at or after it)" }),
        to: Timestamp.openapi({ description: "Rollups whose period starts before it; at most 31 days after from" }),
        metric: z.enum(METRIC_TYPES).optional(),
      }),
    },
    responses: { 200: json(UsageReport, "Totals, per user and per hour, of each metric") },
  },
  403,
  404,
);
const quota = agentRoute(
  {
    method: "get",
    path: "/usage/quota",
    tags,
    summary: "The caller's organization: today's requests and this month's tokens against their quotas",
    responses: { 200: json(QuotaFigures, "Quota figures") },
  },
  404,
);

const figure = (v: string | null) => (v === null ? null : Number(v));

export const usageRoutes = createRouter()
  .openapi(report, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, ["admin"], "read the usage report");
    const q = c.req.valid("query");
    checkRange(q.from, q.to);
    if (Date.parse(q.to) - Date.parse(q.from) > MAX_RANGE_MS) throw fieldError("query.to", "must be at most 31 days after from");
    const orgId = callerOrg(principal);
    if (!orgId) throw notFound("organization");
    const [totals, byUser, hourly] = await runAs(db, principal, usageReport(db, orgId, q));
    const metrics = totals.rows.map((t) => ({
      metricType: t.metric_type as (typeof METRIC_TYPES)[number],
      total: figure(t.value),
      byUser: byUser.rows.filter((r) => r.metric_type === t.metric_type).map((r) => ({ userId: r.user_id, value: figure(r.value) })),
      hourly: hourly.rows.filter((r) => r.metric_type === t.metric_type).map((r) => ({ periodStart: r.period_start, value: figure(r.value) })),
    }));
    return c.json({ organizationId: orgId, from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString(), metrics }, 200);
  })
  .openapi(quota, async (c) => {
    const { db, redis, config } = c.var;
    const principal = c.var.principal!;
    const orgId = callerOrg(principal);
    if (!orgId) throw notFound("organization");
    const { day, endsAt } = utcDay(Date.now());
    const [[rows], used] = await Promise.all([
      runAs(db, principal, [
        db
          .select({ maxDailyRequests: organizations.maxDailyRequests, maxMonthlyTokens: organizations.maxMonthlyTokens, currentMonthTokens: organizations.currentMonthTokens, tokensMonth: organizations.tokensMonth })
          .from(organizations)
          .where(eq(organizations.id, orgId)),
      ] as const),
      orFallback(config, "agent.quota.daily.read", () => redis.get<number>(dailyCountKey(orgId, day)), undefined),
    ]);
    const org = rows[0];
    if (!org) throw notFound(`organization ${orgId}`);
    const now = new Date();
    const nextMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    return c.json(
      {
        organizationId: orgId,
        dailyRequests: { limit: org.maxDailyRequests, used: used === undefined ? null : Number(used ?? 0), day, resetsAt: new Date(endsAt).toISOString() },
        monthlyTokens: { limit: org.maxMonthlyTokens, used: org.currentMonthTokens ?? 0, month: org.tokensMonth, resetsAt: nextMonth.toISOString() },
      },
      200,
    );
  });
