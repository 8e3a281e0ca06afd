import { z } from "@hono/zod-openapi";
import { and, eq, gte, lt, sql } from "drizzle-orm";
import { JsonObject } from "../platform/input";
import { keyset } from "../platform/paging";
import { relayAfterResponse } from "../platform/relay";
import { ApiError, fieldError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { checkRange, JsonObjectParam, PageQuery, pageOf, Timestamp, uuidParams } from "../platform/schemas";
import { columnsOf, rowSchema } from "../platform/table-schema";
import { factoryRoute, runFactory } from "./access";
import { executeJudgment } from "./judgment-execute";
import { sampleFromFeedback } from "./sample-sql";
import { RecommendedAction } from "./judgment-verdict";
import { CORRECTED_RESULTS, FEEDBACK_TYPES, feedbacks, JUDGMENT_METHODS, JUDGMENT_RESULTS, JUDGMENT_SOURCES, judgmentExecutions } from "./schema";

const JsonMap = z.record(z.string(), z.unknown());
export const Judgment = rowSchema(judgmentExecutions, {
  inputData: JsonMap,
  recommendedActions: z.array(RecommendedAction).nullable(),
  ruleTrace: JsonMap.nullable().openapi({ description: "§4.1 rule_trace: ruleset, version, deployment, matched_rules, total_rules_evaluated, execution_time_ms" }),
  llmMetadata: JsonMap.nullable().openapi({ description: "§4.1 llm_metadata (hybrid: also whether the LLM was consulted and why)" }),
  evidence: JsonMap.nullable(),
  featureImportance: JsonMap.nullable(),
  metadata: JsonMap,
}).openapi("FactoryJudgment");
const JudgmentPage = pageOf(Judgment, "FactoryJudgmentPage");
/** A judgment row as the response carries it: Drizzle types its jsonb columns `unknown`, the schema above says what they hold. */
const wire = <T>(value: T) => value as unknown as z.infer<typeof Judgment>;
export const Feedback = rowSchema(feedbacks)
  .extend({
    learningSampleId: z.uuid().nullable().openapi({ description: "The learning sample this feedback made (§6.2, source feedback): correct on a decided judgment, or incorrect/partial with correctedResult; else null" }),
  })
  .openapi("FactoryFeedback");

const Locale = z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, "must be a BCP 47 tag such as ko-KR").max(35);

const ExecuteInput = z
  .object({
    inputData: JsonObject.openapi({ description: "§4.1 input_data", example: { line_code: "L01", metrics: { defect_rate: 0.073 }, context: { target_defect_rate: 0.05 } } }),
    rulesetId: z.uuid().optional().openapi({ description: "The ruleset that judges (rule_only, hybrid)" }),
    workflowId: z.uuid().optional().openapi({ description: "The workflow the judgment belongs to: the cache key's scope" }),
    method: z.enum(["rule_only", "llm_only", "hybrid"]).optional().openapi({ description: "Default: rule_only with a ruleset, else llm_only" }),
    source: z.enum(JUDGMENT_SOURCES).default("api"),
    promptVariables: JsonObject.optional().openapi({ description: "Prompt variables besides input_data (historical_data, …)" }),
    locale: Locale.optional().openapi({ description: "Prompt body locale; falls back to the tenant's, then ko-KR" }),
  })
  .strict()
  .openapi("FactoryJudgmentInput");

const FeedbackInput = z
  .object({
    feedbackType: z.enum(FEEDBACK_TYPES),
    rating: z.int().min(1).max(5).optional(),
    comment: z.string().min(1).max(10_000).optional(),
    correctedResult: z.enum(CORRECTED_RESULTS).optional().openapi({ description: "What the result should have been: only with incorrect or partial" }),
  })
  .strict()
  .openapi("FactoryFeedbackInput");

const tags = ["factory judgments"];

const execute = factoryRoute(
  {
    method: "post",
    path: "/judgments/execute",
    tags,
    permission: "judgment:execute",
    summary: "Judge input data: from the cache, else by rules, the LLM or both (hybrid)",
    description: "Counts toward the tenant's max_judgments_per_day (429 with Retry-After when spent). The caller's W3C traceparent, when valid, gives the trace id.",
    request: { body: jsonBody(ExecuteInput) },
    responses: { 201: json(Judgment, "The judgment as stored (method_used cache and cache_hit true on a hit)") },
  },
  404,
  409,
);
const getOne = factoryRoute(
  {
    method: "get",
    path: "/judgments/{id}",
    tags,
    permission: "judgment:read",
    summary: "One judgment",
    request: { params: uuidParams("id") },
    responses: { 200: json(Judgment, "The judgment") },
  },
  404,
);
const list = factoryRoute({
  method: "get",
  path: "/judgments",
  tags,
  permission: "judgment:read",
  summary: "The tenant's judgments, newest first",
  request: {
    query: z.object({
      result: z.enum(JUDGMENT_RESULTS).optional(),
      methodUsed: z.enum(JUDGMENT_METHODS).optional(),
      workflowId: z.uuid().optional(),
      from: Timestamp.optional().openapi({ description: "created_at at or after" }),
      to: Timestamp.optional().openapi({ description: "created_at before" }),
      inputContains: JsonObjectParam.optional().openapi({ type: "string", description: 'JSON object input_data must contain (jsonb @>, the GIN index), e.g. {"line_code":"L01"}' }),
      ...PageQuery,
    }),
  },
  responses: { 200: json(JudgmentPage, "A page of judgments") },
});
const giveFeedback = factoryRoute(
  {
    method: "post",
    path: "/judgments/{id}/feedback",
    tags,
    permission: "judgment:execute",
    summary: "Say whether a judgment was right (§6.1)",
    request: { params: uuidParams("id"), body: jsonBody(FeedbackInput) },
    responses: { 201: json(Feedback, "Recorded") },
  },
  404,
);

const newest = keyset([judgmentExecutions.createdAt, judgmentExecutions.id], "desc");

export const judgmentRoutes = createRouter()
  .openapi(execute, async (c) => {
    const row = await executeJudgment(c, execute, c.req.valid("json"));
    // Its events (event-triggered workflows) reach the queue after the response.
    relayAfterResponse(c);
    return c.json(wire(row), 201);
  })
  .openapi(getOne, async (c) => {
    const { id } = c.req.valid("param");
    const { db } = c.var;
    const [rows] = await runFactory(c, getOne, [db.select(columnsOf(judgmentExecutions)).from(judgmentExecutions).where(eq(judgmentExecutions.id, id))] as const);
    if (!rows[0]) throw notFound(`judgment ${id}`);
    return c.json(wire(rows[0]), 200);
  })
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    checkRange(q.from, q.to);
    const { db } = c.var;
    const j = judgmentExecutions;
    const [rows] = await runFactory(c, list, [
      db
        .select({ ...columnsOf(j), ...newest.columns })
        .from(j)
        .where(
          and(
            q.result ? eq(j.result, q.result) : undefined,
            q.methodUsed ? eq(j.methodUsed, q.methodUsed) : undefined,
            q.workflowId ? eq(j.workflowId, q.workflowId) : undefined,
            q.from ? gte(j.createdAt, new Date(q.from)) : undefined,
            q.to ? lt(j.createdAt, new Date(q.to)) : undefined,
            q.inputContains ? sql`${j.inputData} @> ${JSON.stringify(q.inputContains)}::jsonb` : undefined,
            newest.after(q.cursor),
          ),
        )
        .orderBy(...newest.orderBy)
        .limit(q.limit + 1),
    ] as const);
    const page = newest.page(rows, q.limit);
    return c.json({ items: page.items.map(wire), nextCursor: page.nextCursor }, 200);
  })
  .openapi(giveFeedback, async (c) => {
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    if (input.correctedResult && input.feedbackType !== "incorrect" && input.feedbackType !== "partial") {
      throw fieldError("json.correctedResult", `goes with feedbackType incorrect or partial, not ${input.feedbackType}`);
    }
    const { db } = c.var;
    const userId = c.var.principal!.userId;
    const j = judgmentExecutions;
    const feedbackId = crypto.randomUUID();
    const row = db
      .select({
        id: sql<string>`${feedbackId}::uuid`.as("id"),
        tenantId: j.tenantId,
        judgmentExecutionId: j.id,
        userId: sql<string>`${userId}::uuid`.as("user_id"),
        feedbackType: sql<string>`${input.feedbackType}::text`.as("feedback_type"),
        rating: sql<number | null>`${input.rating ?? null}::int`.as("rating"),
        comment: sql<string | null>`${input.comment ?? null}::text`.as("comment"),
        correctedResult: sql<string | null>`${input.correctedResult ?? null}::text`.as("corrected_result"),
        createdAt: sql<Date>`now()`.as("created_at"),
      })
      .from(j)
      .where(eq(j.id, id));
    const [stored, sample] = await runFactory(c, giveFeedback, [db.insert(feedbacks).select(row).returning(), sampleFromFeedback(db, feedbackId)] as const);
    if (!stored[0]) throw new ApiError(404, "not_found", `judgment ${id} was not found`);
    return c.json({ ...stored[0], learningSampleId: sample.rows[0]?.id ?? null }, 201);
  });
