import { z } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import { keyset } from "../platform/paging";
import { ApiError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { relayAfterResponse } from "../platform/relay";
import { createRouter } from "../platform/router";
import { PageQuery, pageOf, uuidParams } from "../platform/schemas";
import { columnsOf, rowSchema } from "../platform/table-schema";
import { factoryRoute, runFactory, tenantOf } from "./access";
import { changedRows, userActor } from "./audit";
import { approveStatements, rejectStatements } from "./candidate-sql";
import { MIN_SAMPLES } from "./learning-jobs";
import { APPROVAL_STATUSES, autoRuleCandidates, GENERATION_METHODS, modelTrainingJobs } from "./schema";
import { insertJob } from "./training-job-sql";
import { TrainingJob, wireJob } from "./training-jobs.routes";

const JsonMap = z.record(z.string(), z.unknown());
export const AutoRuleCandidate = rowSchema(autoRuleCandidates, {
  testResults: JsonMap.nullable().openapi({ description: "§6.3 test_results on the held-out samples: total_cases, passed, failed, false_positives, false_negatives, edge_cases, performance" }),
  metadata: JsonMap.openapi({ description: "compile_status (and compile_error), script_hash, test_coverage, job_id, training/held-out sizes, the active version's scores on the same samples, the conflict found with it" }),
}).openapi("FactoryAutoRuleCandidate");
const CandidatePage = pageOf(AutoRuleCandidate, "FactoryAutoRuleCandidatePage");
const wire = <T>(row: T) => row as unknown as z.infer<typeof AutoRuleCandidate>;

const AutoRulesInput = z
  .object({
    rulesetId: z.uuid().openapi({ description: "The ruleset the candidates are for: compared with its active version, approved into its next version" }),
    method: z.enum(GENERATION_METHODS).openapi({ description: "pattern_mining: a decision tree over the samples' numeric features; llm: the configured LLM writes the rule; ensemble: both, and their combination" }),
    holdout: z.number().min(0.1).max(0.5).optional().openapi({ description: "Share of the validated samples held out for scoring (default 0.3)" }),
    maxDepth: z.int().min(1).max(5).optional().openapi({ description: "Decision tree depth (default 3)" }),
    minLeaf: z.int().min(1).max(50).optional().openapi({ description: "Fewest training samples per leaf (default 2)" }),
    maxSamples: z.int().min(MIN_SAMPLES).max(5000).optional().openapi({ description: "The newest validated samples used (default 2000)" }),
    instructions: z.string().min(1).max(2000).optional().openapi({ description: "Extra words for the LLM (llm, ensemble)" }),
  })
  .strict()
  .openapi("FactoryAutoRulesInput");

const RejectInput = z.object({ reason: z.string().trim().min(1).max(2000) }).strict().openapi("FactoryCandidateRejection");
const Approved = z
  .object({ candidate: AutoRuleCandidate, ruleScriptId: z.uuid(), version: z.int(), deploymentId: z.uuid() })
  .openapi("FactoryApprovedCandidate");

const tags = ["factory learning"];

const generate = factoryRoute(
  {
    method: "post",
    path: "/learning/auto-rules",
    tags,
    permission: "learning:create",
    summary: "Learn rule candidates for a ruleset from the validated samples (§6.3): a rule_learning job on the queue",
    description: "Answers at once with the pending job; GET /learning/training-jobs/{id} shows its progress and metrics, GET /learning/auto-rules?jobId=… its candidates, each scored on held-out samples.",
    request: { body: jsonBody(AutoRulesInput) },
    responses: { 202: json(TrainingJob, "Accepted: the rule_learning job, pending") },
  },
  404,
);
const list = factoryRoute({
  method: "get",
  path: "/learning/auto-rules",
  tags,
  permission: "learning:read",
  summary: "The tenant's rule candidates, newest first",
  request: {
    query: z.object({
      rulesetId: z.uuid().optional(),
      approvalStatus: z.enum(APPROVAL_STATUSES).optional(),
      generationMethod: z.enum(GENERATION_METHODS).optional(),
      jobId: z.uuid().optional().openapi({ description: "The rule_learning job that made them" }),
      ...PageQuery,
    }),
  },
  responses: { 200: json(CandidatePage, "A page of candidates") },
});
const getOne = factoryRoute(
  { method: "get", path: "/learning/auto-rules/{id}", tags, permission: "learning:read", summary: "One rule candidate with its scores and test results", request: { params: uuidParams("id") }, responses: { 200: json(AutoRuleCandidate, "The candidate") } },
  404,
);
const approve = factoryRoute(
  {
    method: "post",
    path: "/learning/auto-rules/{id}/approve",
    tags,
    permission: "rule:approve",
    summary: "Approve a compiled candidate: its script becomes the ruleset's next version, with a draft deployment another user must approve",
    request: { params: uuidParams("id") },
    responses: { 200: json(Approved, "Approved") },
  },
  404,
  409,
);
const reject = factoryRoute(
  {
    method: "post",
    path: "/learning/auto-rules/{id}/reject",
    tags,
    permission: "rule:approve",
    summary: "Reject a candidate, saying why",
    request: { params: uuidParams("id"), body: jsonBody(RejectInput) },
    responses: { 200: json(AutoRuleCandidate, "Rejected") },
  },
  404,
  409,
);

const newest = keyset([autoRuleCandidates.createdAt, autoRuleCandidates.id], "desc");

type State = { status: string; compileStatus: string | null; rulesetId: string | null } | undefined;

function undecidable(id: string, state: State, verb: string): ApiError {
  if (!state) return notFound(`rule candidate ${id}`);
  if (state.status !== "pending" && state.status !== "testing") {
    return new ApiError(409, "invalid_state", `rule candidate ${id} is ${state.status}; only a pending or testing candidate can be ${verb}`, { currentStatus: state.status });
  }
  if (state.compileStatus !== "compiled") return new ApiError(409, "candidate_not_compiled", `rule candidate ${id} does not compile, so it can never be approved`);
  return new ApiError(409, "candidate_without_ruleset", `rule candidate ${id} belongs to no ruleset (it was deleted)`);
}

export const autoRuleRoutes = createRouter()
  .openapi(generate, async (c) => {
    const b = c.req.valid("json");
    const trainingConfig = {
      ruleset_id: b.rulesetId,
      method: b.method,
      holdout: b.holdout ?? 0.3,
      max_depth: b.maxDepth ?? 3,
      min_leaf: b.minLeaf ?? 2,
      max_samples: b.maxSamples ?? 2000,
      ...(b.instructions ? { instructions: b.instructions } : {}),
    };
    const { db } = c.var;
    const [inserted] = await runFactory(c, generate, insertJob(db, userActor(c), { id: crypto.randomUUID(), jobType: "rule_learning", trainingConfig, datasetSize: null, rulesetId: b.rulesetId }));
    const row = changedRows(modelTrainingJobs, inserted)[0];
    if (!row) throw notFound(`ruleset ${b.rulesetId}`);
    relayAfterResponse(c);
    return c.json(wireJob(row), 202);
  })
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const { db } = c.var;
    const a = autoRuleCandidates;
    const [rows] = await runFactory(c, list, [
      db
        .select({ ...columnsOf(a), ...newest.columns })
        .from(a)
        .where(
          and(
            q.rulesetId ? eq(a.rulesetId, q.rulesetId) : undefined,
            q.approvalStatus ? eq(a.approvalStatus, q.approvalStatus) : undefined,
            q.generationMethod ? eq(a.generationMethod, q.generationMethod) : undefined,
            q.jobId ? sql`${a.metadata} ->> 'job_id' = ${q.jobId}` : undefined,
            newest.after(q.cursor),
          ),
        )
        .orderBy(...newest.orderBy)
        .limit(q.limit + 1),
    ] as const);
    const page = newest.page(rows, q.limit);
    return c.json({ items: page.items.map(wire), nextCursor: page.nextCursor }, 200);
  })
  .openapi(getOne, async (c) => {
    const { id } = c.req.valid("param");
    const { db } = c.var;
    const [rows] = await runFactory(c, getOne, [db.select(columnsOf(autoRuleCandidates)).from(autoRuleCandidates).where(eq(autoRuleCandidates.id, id))] as const);
    if (!rows[0]) throw notFound(`rule candidate ${id}`);
    return c.json(wire(rows[0]), 200);
  })
  .openapi(approve, async (c) => {
    const { id } = c.req.valid("param");
    const { db } = c.var;
    const scriptId = crypto.randomUUID();
    const deploymentId = crypto.randomUUID();
    const results = await runFactory(c, approve, approveStatements(db, userActor(c), tenantOf(c.var.principal!), id, scriptId, deploymentId));
    const [, decided, version, , deployment, , state] = results;
    const candidate = changedRows(autoRuleCandidates, decided)[0];
    if (!candidate) throw undecidable(id, state[0], "approved");
    relayAfterResponse(c);
    return c.json({ candidate: wire(candidate), ruleScriptId: scriptId, version: Number(version.rows[0]!.version), deploymentId: String(deployment.rows[0]!.id) }, 200);
  })
  .openapi(reject, async (c) => {
    const { id } = c.req.valid("param");
    const { reason } = c.req.valid("json");
    const { db } = c.var;
    const [decided, state] = await runFactory(c, reject, rejectStatements(db, userActor(c), id, reason));
    const candidate = changedRows(autoRuleCandidates, decided)[0];
    if (!candidate) throw undecidable(id, state[0], "rejected");
    return c.json(wire(candidate), 200);
  });
