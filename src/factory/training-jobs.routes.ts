import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { servicePrincipal } from "../platform/auth";
import type { AppEnv } from "../platform/context";
import { runAs } from "../platform/db";
import { JsonObject } from "../platform/input";
import { keyset } from "../platform/paging";
import { ApiError, fieldError, notFound } from "../platform/problem";
import { defineRoute, json, jsonBody } from "../platform/route";
import { relayAfterResponse } from "../platform/relay";
import { requestOrigin } from "../platform/request-origin";
import { createRouter } from "../platform/router";
import { PageQuery, pageOf, uuidParams } from "../platform/schemas";
import { columnsOf, rowSchema } from "../platform/table-schema";
import { verifyWebhook } from "../platform/webhook-signature";
import { factoryRoute, runFactory } from "./access";
import { changedRows, userActor, type Actor } from "./audit";
import { RuleLearningConfig } from "./learning-jobs";
import { modelTrainingJobs, TRAINING_JOB_STATUSES, TRAINING_JOB_TYPES } from "./schema";
import { applyCallback, cancelJob, insertJob } from "./training-job-sql";

const JsonMap = z.record(z.string(), z.unknown());
export const TrainingJob = rowSchema(modelTrainingJobs, { trainingConfig: JsonMap, metrics: JsonMap.nullable() }).openapi("FactoryTrainingJob");
const TrainingJobPage = pageOf(TrainingJob, "FactoryTrainingJobPage");
export const wireJob = <T>(row: T) => row as unknown as z.infer<typeof TrainingJob>;

/** dataset_size is a Postgres integer: a larger count is refused here, naming the field, not by the cast. */
const DatasetSize = z.int().min(0).max(2_147_483_647);

const JobInput = z
  .object({
    jobType: z.enum(TRAINING_JOB_TYPES),
    trainingConfig: JsonObject.openapi({
      description: "rule_learning: {ruleset_id, method: pattern_mining|llm|ensemble, holdout?, max_depth?, min_leaf?, max_samples?, instructions?}; the others: what the external training system needs",
    }),
    datasetSize: DatasetSize.optional(),
  })
  .strict()
  .openapi("FactoryTrainingJobInput");

/** What the external training system reports (docs/factory-learning.md, "The callback"). */
const CallbackInput = z
  .object({
    jobId: z.uuid(),
    status: z.enum(["running", "completed", "failed"]),
    metrics: JsonObject.optional().openapi({ description: "Merged into the job's metrics (loss, accuracy, progress, …)" }),
    modelArtifactUrl: z.url({ protocol: /^https?$|^s3$|^gs$/ }).max(2000).optional(),
    errorMessage: z.string().min(1).max(2000).optional(),
    datasetSize: DatasetSize.optional(),
  })
  .strict()
  .openapi("FactoryTrainingCallback");

const tags = ["factory learning"];
export const CALLBACK_PATH = "/learning/training-jobs/callback";

const create = factoryRoute(
  {
    method: "post",
    path: "/learning/training-jobs",
    tags,
    permission: "learning:create",
    summary: "Record a training job (§6.4): rule_learning runs on the queue; llm_finetuning and embedding_update are moved by the external training system's signed callback",
    request: { body: jsonBody(JobInput) },
    responses: { 201: json(TrainingJob, "Recorded (pending)") },
  },
  404,
);
const list = factoryRoute({
  method: "get",
  path: "/learning/training-jobs",
  tags,
  permission: "learning:read",
  summary: "The tenant's training jobs, newest first",
  request: { query: z.object({ jobType: z.enum(TRAINING_JOB_TYPES).optional(), status: z.enum(TRAINING_JOB_STATUSES).optional(), ...PageQuery }) },
  responses: { 200: json(TrainingJobPage, "A page of jobs") },
});
const getOne = factoryRoute(
  { method: "get", path: "/learning/training-jobs/{id}", tags, permission: "learning:read", summary: "One training job: status, metrics, timing", request: { params: uuidParams("id") }, responses: { 200: json(TrainingJob, "The job") } },
  404,
);
const cancel = factoryRoute(
  {
    method: "post",
    path: "/learning/training-jobs/{id}/cancel",
    tags,
    permission: "learning:update",
    summary: "Cancel a pending or running job (a running rule_learning job's result is then discarded)",
    request: { params: uuidParams("id") },
    responses: { 200: json(TrainingJob, "Cancelled") },
  },
  404,
  409,
);
const callback = defineRoute({
  method: "post",
  path: CALLBACK_PATH,
  tags,
  summary: "The external training system reports a job's status (Standard Webhooks signature, no bearer token)",
  description:
    "Authenticated by signature, not JWT: headers webhook-id, webhook-timestamp (Unix seconds, at most 5 minutes off) and webhook-signature (`v1,<base64 HMAC-SHA256 of id.timestamp.body>` under FACTORY_TRAINING_WEBHOOK_SECRET). A webhook-id is accepted once. Moves llm_finetuning and embedding_update jobs only: pending → running, completed or failed; running → running (progress), completed or failed.",
  security: [],
  "x-authentication": "standard-webhooks",
  request: { body: jsonBody(CallbackInput) },
  responses: { 200: json(TrainingJob, "Moved") },
}, 404, 409);

const newest = keyset([modelTrainingJobs.createdAt, modelTrainingJobs.id], "desc");

/** Verifies the Standard Webhooks signature before the body is validated or anything is read (SystemParts.signedRoutes lets the request past the bearer check). */
const signedByTrainingSystem: MiddlewareHandler<AppEnv> = async (c, next) => {
  const secret = c.var.config.FACTORY_TRAINING_WEBHOOK_SECRET;
  if (!secret) throw new ApiError(503, "webhook_not_configured", "FACTORY_TRAINING_WEBHOOK_SECRET is not set: training callbacks cannot be verified");
  const id = await verifyWebhook(
    secret,
    { id: c.req.header("webhook-id"), timestamp: c.req.header("webhook-timestamp"), signature: c.req.header("webhook-signature") },
    await c.req.text(),
    c.var.redis,
    "factory-training",
  );
  c.set("webhookId" as never, id as never);
  await next();
};

const CALLBACK_ACTOR = "factory-training-webhook";

const router = createRouter();
router.use(CALLBACK_PATH, signedByTrainingSystem);

export const trainingJobRoutes = router
  .openapi(create, async (c) => {
    const body = c.req.valid("json");
    let rulesetId: string | null = null;
    let config = body.trainingConfig;
    if (body.jobType === "rule_learning") {
      const parsed = RuleLearningConfig.safeParse(config);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw fieldError(["json", "trainingConfig", ...issue.path.map(String)].join("."), issue.message);
      }
      config = parsed.data;
      rulesetId = parsed.data.ruleset_id;
    }
    const { db } = c.var;
    const [inserted] = await runFactory(c, create, insertJob(db, userActor(c), { id: crypto.randomUUID(), jobType: body.jobType, trainingConfig: config, datasetSize: body.datasetSize ?? null, rulesetId }));
    const row = changedRows(modelTrainingJobs, inserted)[0];
    if (!row) throw notFound(`ruleset ${rulesetId}`);
    if (row.jobType === "rule_learning") relayAfterResponse(c);
    return c.json(wireJob(row), 201);
  })
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const { db } = c.var;
    const j = modelTrainingJobs;
    const [rows] = await runFactory(c, list, [
      db
        .select({ ...columnsOf(j), ...newest.columns })
        .from(j)
        .where(and(q.jobType ? eq(j.jobType, q.jobType) : undefined, q.status ? eq(j.status, q.status) : undefined, newest.after(q.cursor)))
        .orderBy(...newest.orderBy)
        .limit(q.limit + 1),
    ] as const);
    const page = newest.page(rows, q.limit);
    return c.json({ items: page.items.map(wireJob), nextCursor: page.nextCursor }, 200);
  })
  .openapi(getOne, async (c) => {
    const { id } = c.req.valid("param");
    const { db } = c.var;
    const [rows] = await runFactory(c, getOne, [db.select(columnsOf(modelTrainingJobs)).from(modelTrainingJobs).where(eq(modelTrainingJobs.id, id))] as const);
    if (!rows[0]) throw notFound(`training job ${id}`);
    return c.json(wireJob(rows[0]), 200);
  })
  .openapi(cancel, async (c) => {
    const { id } = c.req.valid("param");
    const { db } = c.var;
    const [changed, state] = await runFactory(c, cancel, cancelJob(db, userActor(c), id));
    const row = changedRows(modelTrainingJobs, changed)[0];
    if (row) return c.json(wireJob(row), 200);
    if (!state[0]) throw notFound(`training job ${id}`);
    throw new ApiError(409, "invalid_state", `training job ${id} is ${state[0].status}; only a pending or running job can be cancelled`, { currentStatus: state[0].status });
  })
  .openapi(callback, async (c) => {
    const body = c.req.valid("json");
    const { db } = c.var;
    const webhookId = c.get("webhookId" as never) as string;
    const actor: Actor = { id: null, type: "webhook", subject: CALLBACK_ACTOR, origin: requestOrigin(c) };
    const update = { jobId: body.jobId, status: body.status, metrics: body.metrics ?? null, modelArtifactUrl: body.modelArtifactUrl ?? null, errorMessage: body.errorMessage ?? null, datasetSize: body.datasetSize ?? null, webhookId };
    const [changed, state] = await runAs(db, servicePrincipal(CALLBACK_ACTOR), applyCallback(db, actor, update));
    const row = changedRows(modelTrainingJobs, changed)[0];
    if (row) return c.json(wireJob(row), 200);
    const current = state[0];
    if (!current) throw notFound(`training job ${body.jobId}`);
    if (current.jobType === "rule_learning") throw new ApiError(409, "job_not_external", `training job ${body.jobId} is a rule_learning job, run by the platform itself`);
    throw new ApiError(409, "invalid_state", `training job ${body.jobId} is ${current.status}; it cannot become ${body.status}`, { currentStatus: current.status });
  });
