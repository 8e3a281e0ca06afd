import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { runAs } from "../platform/db";
import { JsonObject } from "../platform/input";
import { keyset } from "../platform/paging";
import { ApiError, fieldError } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { pageOf, PageQuery, uuidParams } from "../platform/schemas";
import { columnsOf, rowSchema } from "../platform/table-schema";
import { agentRoute, callerOrg, notProvisioned, requireAgentRole, WRITERS } from "./access";
import { feedbackTarget, insertFeedback, planFeedbackSummary } from "./feedback-sql";
import { feedback } from "./schema";

export const Feedback = rowSchema(feedback, { contextData: JsonObject.nullable() }).openapi("AgentFeedback");
const FeedbackPage = pageOf(Feedback, "AgentFeedbackPage");
const FeedbackInput = z
  .object({
    sessionId: z.uuid().optional(),
    planId: z.uuid().optional().openapi({ description: "Feedback on a plan is also on its session; with both, the plan must be the session's" }),
    rating: z.int().min(1).max(5),
    feedbackType: z.string().regex(/^[a-z][a-z0-9_]{0,49}$/, "must be a lowercase name: letters, digits, underscores, at most 50").openapi({ example: "result_quality" }),
    comment: z.string().max(10_000).optional(),
    contextData: JsonObject.optional(),
  })
  .strict()
  .openapi("AgentFeedbackInput");
const Average = z.number().nullable();
const PlanFeedbackSummary = z
  .object({
    planId: z.uuid(),
    count: z.int(),
    averageRating: Average,
    ratings: z.object({ 1: z.int(), 2: z.int(), 3: z.int(), 4: z.int(), 5: z.int() }),
    byType: z.array(z.object({ feedbackType: z.string().nullable(), count: z.int(), averageRating: Average })),
  })
  .openapi("AgentPlanFeedbackSummary");

const tags = ["agent"];

const give = agentRoute(
  {
    method: "post",
    path: "/feedback",
    tags,
    summary: "Rate a session or a plan (members, not viewers)",
    request: { body: jsonBody(FeedbackInput) },
    responses: { 201: json(Feedback, "Recorded") },
  },
  403,
  404,
  409,
);
const listOwn = agentRoute({
  method: "get",
  path: "/feedback",
  tags,
  summary: "The caller's own feedback, newest first, optionally on one session or plan",
  request: { query: z.object({ sessionId: z.uuid().optional(), planId: z.uuid().optional(), ...PageQuery }) },
  responses: { 200: json(FeedbackPage, "A page of feedback") },
});
const summary = agentRoute(
  {
    method: "get",
    path: "/feedback/plans/{planId}",
    tags,
    summary: "Everyone's feedback on a plan in figures (managers, admins)",
    request: { params: uuidParams("planId") },
    responses: { 200: json(PlanFeedbackSummary, "Count, average, ratings and types") },
  },
  403,
  404,
);

const newest = keyset([feedback.createdAt, feedback.id], "desc");
const average = (v: string | null) => (v === null ? null : Number(v));

export const feedbackRoutes = createRouter()
  .openapi(give, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, WRITERS, "give feedback");
    const input = c.req.valid("json");
    if (!input.sessionId && !input.planId) throw fieldError("json.sessionId", "name the session or the plan (planId) the feedback is on");
    if (!callerOrg(principal)) throw notProvisioned(principal);
    const [rows, why] = await runAs(db, principal, [insertFeedback(db, principal.userId, input), feedbackTarget(db, input)] as const);
    if (rows[0]) return c.json(rows[0], 201);
    const target = why.rows[0];
    if (!target?.member) throw notProvisioned(principal);
    if (input.planId && !target.plan_seen) throw new ApiError(404, "not_found", `plan ${input.planId} was not found`, { field: "json.planId" });
    if (input.planId) throw fieldError("json.planId", `plan ${input.planId} belongs to session ${target.plan_session}, not to session ${input.sessionId}`);
    throw new ApiError(404, "not_found", `session ${input.sessionId} was not found`, { field: "json.sessionId" });
  })
  .openapi(listOwn, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const q = c.req.valid("query");
    const [rows] = await runAs(db, principal, [
      db
        .select({ ...columnsOf(feedback), ...newest.columns })
        .from(feedback)
        .where(
          and(
            eq(feedback.userId, principal.userId),
            q.sessionId ? eq(feedback.sessionId, q.sessionId) : undefined,
            q.planId ? eq(feedback.planId, q.planId) : undefined,
            newest.after(q.cursor),
          ),
        )
        .orderBy(...newest.orderBy)
        .limit(q.limit + 1),
    ] as const);
    return c.json(newest.page(rows, q.limit), 200);
  })
  .openapi(summary, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, ["admin", "manager"], "read a plan's feedback");
    const { planId } = c.req.valid("param");
    const [found, totals, byType] = await runAs(db, principal, planFeedbackSummary(db, planId));
    if (!found.rows[0]?.found) throw new ApiError(404, "not_found", `plan ${planId} was not found`);
    const t = totals.rows[0]!;
    return c.json(
      {
        planId,
        count: t.count,
        averageRating: average(t.average),
        ratings: { 1: t.r1, 2: t.r2, 3: t.r3, 4: t.r4, 5: t.r5 },
        byType: byType.rows.map((r) => ({ feedbackType: r.feedback_type, count: r.count, averageRating: average(r.average) })),
      },
      200,
    );
  });
