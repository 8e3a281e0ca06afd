import { z } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { JsonObject } from "../platform/input";
import { keyset } from "../platform/paging";
import { ApiError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { pageOf, PageQuery, uuidParams } from "../platform/schemas";
import { seal } from "../platform/sealed-secrets";
import { columnsOf, rowSchema } from "../platform/table-schema";
import { factoryRoute, runFactory, tenantOf } from "./access";
import { audited, changedRows, userActor } from "./audit";
import { workflows, workflowSteps } from "./schema";
import { newWebhookSecret } from "../platform/standard-webhooks";
import { checkDefinition, dslDigest, type DslFault, type WorkflowDefinition } from "./workflow-dsl";
import { dslJsonSchema, MAX_WAIT_SECONDS } from "./workflow-dsl-schema";
import { activateWorkflow, creationState, insertFirstVersion, insertNextVersion, insertSteps, lockWorkflows, stepsOf, storeWebhookSecret, workflowInstancesExist, workflowJudgmentsExist, workflowState, type WorkflowWrite } from "./workflow-sql";
import { checkTriggerConfig, TriggerConfig, type StoredTrigger } from "./workflow-trigger-config";
import { webhookSecretOwner } from "./workflow-trigger-sql";

/** The DSL's JSON Schema in /openapi.json (the served copy at GET /workflows/dsl-schema also carries $schema and $id). */
const DSL_COMPONENT = "FactoryWorkflowDsl";

const JsonMap = z.record(z.string(), z.unknown());
const Tag = z.string().trim().min(1).max(64).regex(/^[^\s,]+$/, "must be one word (no spaces or commas)");
const Tags = z.array(Tag).max(20).refine((t) => new Set(t).size === t.length, "must not repeat a tag");
const Dsl = JsonObject.openapi({ description: "The definition (workflow DSL v1; docs/factory-workflows.md)", allOf: [{ $ref: `#/components/schemas/${DSL_COMPONENT}` }] });
const Fields = {
  description: z.string().max(2000).nullable(),
  triggerConfig: TriggerConfig.nullable(),
  timeoutSeconds: z.number().int().min(1).max(MAX_WAIT_SECONDS).openapi({ description: "Instance time limit (TIMEOUT past it); default the DSL's timeout_seconds, else 300" }),
  maxRetry: z.number().int().min(0).max(10).openapi({ description: "Attempts per node that names no retry_policy.max_attempts (default 3; at least 1)" }),
  tags: Tags,
  metadata: JsonObject,
};
const WorkflowInput = z
  .object({ name: z.string().regex(/^[a-z][a-z0-9_-]{0,99}$/, "must be lowercase letters, digits, _ or -, starting with a letter"), dsl: Dsl, ...Fields })
  .partial({ description: true, triggerConfig: true, timeoutSeconds: true, maxRetry: true, tags: true, metadata: true })
  .strict()
  .openapi("FactoryWorkflowInput");
const VersionInput = z
  .object({ dsl: Dsl, ...Fields })
  .partial({ description: true, triggerConfig: true, timeoutSeconds: true, maxRetry: true, tags: true, metadata: true })
  .strict()
  .openapi("FactoryWorkflowVersionInput", { description: "A new version of the workflow's name: the dsl, and whatever else changes (the rest is taken from the version in the path)" });

export const Workflow = rowSchema(workflows, { dslJson: JsonMap, triggerConfig: JsonMap.nullable(), metadata: JsonMap, tags: z.array(z.string()).nullable() }).openapi("FactoryWorkflow");
const Step = rowSchema(workflowSteps, { config: JsonMap, retryPolicy: JsonMap.nullable() }).openapi("FactoryWorkflowStep");
const WorkflowWithSteps = Workflow.extend({ steps: z.array(Step) }).openapi("FactoryWorkflowWithSteps");
const Created = WorkflowWithSteps.extend({
  webhookSecret: z.string().optional().openapi({ description: "A webhook trigger's whsec_ secret: shown in this response only (rotate to get a new one)" }),
}).openapi("FactoryWorkflowCreated");
const SecretRotated = z.object({ workflowId: z.uuid(), webhookSecret: z.string() }).openapi("FactoryWorkflowWebhookSecret");
/** Drizzle types the jsonb columns `unknown`; the schemas above say what they hold. */
const wire = <T>(row: T) => row as unknown as z.infer<typeof Workflow>;

const tags = ["factory workflows"];
const IdParam = uuidParams("id");
const ListQuery = z.object({
  name: z.string().max(100).optional(),
  tag: Tag.optional().openapi({ description: "Only versions carrying this tag" }),
  active: z.enum(["true", "false"]).optional(),
  ...PageQuery,
});

const dslSchema = factoryRoute({
  method: "get",
  path: "/workflows/dsl-schema",
  tags,
  permission: "workflow:read",
  summary: "The workflow DSL v1 as JSON Schema (draft 2020-12)",
  responses: { 200: json(JsonMap, "The JSON Schema every definition is checked against (and then its graph)") },
});
const create = factoryRoute(
  {
    method: "post",
    path: "/workflows",
    tags,
    permission: "workflow:create",
    summary: "Define a workflow (version 1 of a new name): the DSL checked, its nodes as steps; max_workflows counts names",
    request: { body: jsonBody(WorkflowInput) },
    responses: { 201: json(Created, "Version 1, inactive") },
  },
  409,
);
const newVersion = factoryRoute(
  {
    method: "post",
    path: "/workflows/{id}/versions",
    tags,
    permission: "workflow:update",
    summary: "A new version of the workflow's name (numbered after its latest), inactive",
    request: { params: IdParam, body: jsonBody(VersionInput) },
    responses: { 201: json(Created, "The new version") },
  },
  404,
  409,
);
const list = factoryRoute({
  method: "get",
  path: "/workflows",
  tags,
  permission: "workflow:read",
  summary: "The tenant's workflow versions, newest first, by name, tag or active",
  request: { query: ListQuery },
  responses: { 200: json(pageOf(Workflow, "FactoryWorkflowPage"), "A page of versions") },
});
const getOne = factoryRoute(
  { method: "get", path: "/workflows/{id}", tags, permission: "workflow:read", summary: "A workflow version with its steps", request: { params: IdParam }, responses: { 200: json(WorkflowWithSteps, "The version") } },
  404,
);
const versions = factoryRoute(
  {
    method: "get",
    path: "/workflows/{id}/versions",
    tags,
    permission: "workflow:read",
    summary: "Every version of the workflow's name, newest first",
    request: { params: IdParam, query: z.object(PageQuery) },
    responses: { 200: json(pageOf(Workflow, "FactoryWorkflowVersionPage"), "A page of versions") },
  },
  404,
);
const activate = factoryRoute(
  {
    method: "post",
    path: "/workflows/{id}/activate",
    tags,
    permission: "workflow:update",
    summary: "Make this version the active one of its name (the previous one is deactivated in the same transaction); audited",
    request: { params: IdParam },
    responses: { 200: json(Workflow, "The version, now active") },
  },
  404,
  409,
);
const deactivate = factoryRoute(
  {
    method: "post",
    path: "/workflows/{id}/deactivate",
    tags,
    permission: "workflow:update",
    summary: "Deactivate this version: its name has no active version until one is activated; audited",
    request: { params: IdParam },
    responses: { 200: json(Workflow, "The version, now inactive") },
  },
  404,
  409,
);
const remove = factoryRoute(
  {
    method: "delete",
    path: "/workflows/{id}",
    tags,
    permission: "workflow:delete",
    summary: "Delete an inactive version that never ran (instances and judgments keep a version they reference); audited",
    request: { params: IdParam },
    responses: { 204: { description: "Deleted with its steps and trigger state" } },
  },
  404,
  409,
);
const rotateSecret = factoryRoute(
  {
    method: "post",
    path: "/workflows/{id}/webhook-secret/rotate",
    tags,
    permission: "workflow:update",
    summary: "A new whsec_ secret for a webhook-triggered version, shown once; the old one stops verifying at once; audited",
    request: { params: IdParam },
    responses: { 200: json(SecretRotated, "The new secret") },
  },
  404,
  409,
);

const unescapeToken = (token: string) => token.replace(/~1/g, "/").replace(/~0/g, "~");

/** A 422 naming every fault by its JSON pointer in the body and, as every 422 does, its dotted path. */
function refusal(faults: DslFault[]): ApiError {
  const errors = faults.map((f) => ({ path: ["json", ...f.pointer.split("/").slice(1).map(unescapeToken)].join("."), pointer: f.pointer, message: f.message }));
  const shown = errors.slice(0, 3).map((e) => `${e.pointer}: ${e.message}`);
  const more = errors.length > shown.length ? ` (and ${errors.length - shown.length} more)` : "";
  return new ApiError(422, "validation_failed", shown.join("; ") + more, { errors });
}

interface Body {
  dsl: Record<string, unknown>;
  description?: string | null;
  triggerConfig?: z.infer<typeof TriggerConfig> | null;
  timeoutSeconds?: number;
  maxRetry?: number;
  tags?: string[];
  metadata?: Record<string, unknown>;
}

/**
 * The body checked beyond its schema, every fault at once: the definition (workflow-dsl.ts), its
 * name against the workflow's, its timeout against the body's, and the trigger config.
 */
async function checkedWrite(body: Body, id: string, tenantId: string, name: string | null, inherit: boolean): Promise<WorkflowWrite> {
  const faults: DslFault[] = [];
  const checked = checkDefinition(body.dsl);
  if (!checked.ok) faults.push(...checked.faults.map((f) => ({ pointer: `/dsl${f.pointer}`, message: f.message })));
  const definition = checked.ok ? checked.definition : null;
  if (definition && name !== null && definition.name !== name) faults.push({ pointer: "/dsl/name", message: `must be the workflow's name, '${name}'` });
  const dslTimeout = definition?.timeout_seconds;
  if (dslTimeout !== undefined && body.timeoutSeconds !== undefined && dslTimeout !== body.timeoutSeconds) {
    faults.push({ pointer: "/timeoutSeconds", message: `differs from the DSL's timeout_seconds (${dslTimeout}); give one of them` });
  }
  let trigger: StoredTrigger | undefined;
  if (body.triggerConfig !== undefined || !inherit) {
    const t = checkTriggerConfig(body.triggerConfig);
    if (t.ok) trigger = t.trigger;
    else faults.push(...t.faults.map((f) => ({ pointer: `/triggerConfig${f.pointer}`, message: f.message })));
  }
  if (faults.length) throw refusal(faults);
  return {
    id,
    tenantId,
    definition: definition as WorkflowDefinition,
    dsl: body.dsl,
    digest: await dslDigest(body.dsl),
    description: body.description,
    trigger,
    timeoutSeconds: body.timeoutSeconds ?? dslTimeout,
    maxRetry: body.maxRetry,
    tags: body.tags,
    metadata: body.metadata,
  };
}

/** A new secret and its sealed form for workflow `id` (FACTORY_CONNECTOR_KEYS: the factory's sealing keys), or null without keys. */
async function sealedSecret(c: Context<AppEnv>, tenantId: string, id: string): Promise<{ secret: string; sealed: string } | null> {
  const keys = c.var.config.FACTORY_CONNECTOR_KEYS;
  if (!keys) return null;
  const secret = newWebhookSecret();
  return { secret, sealed: await seal(keys, secret, webhookSecretOwner(tenantId, id)) };
}

const keysMissing = () =>
  new ApiError(503, "webhook_keys_missing", "the service is misconfigured: FACTORY_CONNECTOR_KEYS is not set, so a webhook trigger's secret cannot be sealed");

/** A statement that stores nothing, where a batch has no secret to store. */
const noSecret = (c: Context<AppEnv>) => c.var.db.execute<{ workflow_id: string }>(sql`select null::uuid as workflow_id where false`);

const maxReached = (state: { maxWorkflows: number; workflowsInUse: number } | undefined) =>
  new ApiError(409, "max_workflows_reached", `the tenant has ${state?.workflowsInUse} workflows (names), its maximum (max_workflows ${state?.maxWorkflows}); add a version to an existing one or delete one`, {
    maxWorkflows: state?.maxWorkflows,
    workflowsInUse: state?.workflowsInUse,
  });

const newest = keyset([workflows.createdAt, workflows.id], "desc");
const byVersion = keyset([workflows.version], "desc");

export const workflowRoutes = createRouter()
  .openapi(dslSchema, async (c) => {
    await runFactory(c, dslSchema, [] as const);
    return c.json(dslJsonSchema(), 200);
  })
  .openapi(create, async (c) => {
    const body = c.req.valid("json");
    const { db } = c.var;
    const tenantId = tenantOf(c.var.principal!);
    const id = crypto.randomUUID();
    const write = await checkedWrite(body, id, tenantId, body.name, false);
    const webhook = write.trigger?.type === "webhook" ? await sealedSecret(c, tenantId, id) : null;
    if (write.trigger?.type === "webhook" && !webhook) throw keysMissing();
    const [, inserted, steps, , state] = await runFactory(c, create, [
      lockWorkflows(db, tenantId),
      audited(db, userActor(c), { action: "create", resourceType: "workflow", table: workflows, change: insertFirstVersion(db, write) }),
      insertSteps(db, id, write.definition),
      webhook ? storeWebhookSecret(db, id, webhook.sealed) : noSecret(c),
      creationState(db, tenantId, body.name),
    ] as const);
    const [row] = changedRows(workflows, inserted);
    if (!row) {
      if (state[0]?.nameTaken) throw new ApiError(409, "workflow_name_taken", `a workflow named '${body.name}' exists: add a version with POST /workflows/{id}/versions`, { name: body.name });
      throw maxReached(state[0]);
    }
    return c.json({ ...wire(row), steps: stepRows(steps), ...(webhook ? { webhookSecret: webhook.secret } : {}) }, 201);
  })
  .openapi(newVersion, async (c) => {
    const { id: baseId } = c.req.valid("param");
    const body = c.req.valid("json");
    const { db } = c.var;
    const tenantId = tenantOf(c.var.principal!);
    const id = crypto.randomUUID();
    const write = await checkedWrite(body, id, tenantId, null, true);
    // The trigger may be the base's (not known before the batch): a secret is ready whenever it could be a webhook's.
    const webhook = write.trigger === undefined || write.trigger.type === "webhook" ? await sealedSecret(c, tenantId, id) : null;
    if (write.trigger?.type === "webhook" && !webhook) throw keysMissing();
    const [, inserted, steps, stored, base] = await runFactory(c, newVersion, [
      lockWorkflows(db, tenantId),
      audited(db, userActor(c), { action: "create", resourceType: "workflow", table: workflows, change: insertNextVersion(db, baseId, write, webhook?.sealed ?? null) }),
      insertSteps(db, id, write.definition),
      webhook ? storeWebhookSecret(db, id, webhook.sealed) : noSecret(c),
      workflowState(db, tenantId, baseId),
    ] as const);
    const [row] = changedRows(workflows, inserted);
    if (!row) {
      const state = base[0];
      if (!state) throw notFound(`workflow ${baseId}`);
      if (state.name !== write.definition.name) throw refusal([{ pointer: "/dsl/name", message: `must be the workflow's name, '${state.name}'` }]);
      throw keysMissing();
    }
    const secret = stored.rows.length && webhook ? { webhookSecret: webhook.secret } : {};
    return c.json({ ...wire(row), steps: stepRows(steps), ...secret }, 201);
  })
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const { db } = c.var;
    const tenantId = tenantOf(c.var.principal!);
    const w = workflows;
    const [rows] = await runFactory(c, list, [
      db
        .select({ ...columnsOf(w), ...newest.columns })
        .from(w)
        .where(
          and(
            eq(w.tenantId, tenantId),
            q.name ? eq(w.name, q.name) : undefined,
            q.tag ? sql`${w.tags} @> array[${q.tag}]::text[]` : undefined,
            q.active ? eq(w.isActive, q.active === "true") : undefined,
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
    const tenantId = tenantOf(c.var.principal!);
    const [rows, steps] = await runFactory(c, getOne, [db.select().from(workflows).where(and(eq(workflows.id, id), eq(workflows.tenantId, tenantId))), stepsOf(db, id)] as const);
    if (!rows[0]) throw notFound(`workflow ${id}`);
    return c.json({ ...wire(rows[0]), steps: steps as unknown as z.infer<typeof Step>[] }, 200);
  })
  .openapi(versions, async (c) => {
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    const { db } = c.var;
    const tenantId = tenantOf(c.var.principal!);
    const w = workflows;
    const name = sql`(select n.name from ${workflows} n where n.id = ${id}::uuid and n.tenant_id = ${tenantId}::uuid)`;
    const [rows, state] = await runFactory(c, versions, [
      db
        .select({ ...columnsOf(w), ...byVersion.columns })
        .from(w)
        .where(and(eq(w.tenantId, tenantId), sql`${w.name} = ${name}`, byVersion.after(q.cursor)))
        .orderBy(...byVersion.orderBy)
        .limit(q.limit + 1),
      workflowState(db, tenantId, id),
    ] as const);
    if (!state[0]) throw notFound(`workflow ${id}`);
    const page = byVersion.page(rows, q.limit);
    return c.json({ items: page.items.map(wire), nextCursor: page.nextCursor }, 200);
  })
  .openapi(activate, async (c) => {
    const { id } = c.req.valid("param");
    const { db } = c.var;
    const tenantId = tenantOf(c.var.principal!);
    const [, , activated, state] = await runFactory(c, activate, [lockWorkflows(db, tenantId), ...activateWorkflow(db, userActor(c), tenantId, id), workflowState(db, tenantId, id)] as const);
    const [row] = changedRows(workflows, activated);
    if (row) return c.json(wire(row), 200);
    if (!state[0]) throw notFound(`workflow ${id}`);
    throw new ApiError(409, "already_active", `workflow ${id} is already the active version of '${state[0].name}'`);
  })
  .openapi(deactivate, async (c) => {
    const { id } = c.req.valid("param");
    const { db } = c.var;
    const tenantId = tenantOf(c.var.principal!);
    const where = and(eq(workflows.id, id), eq(workflows.tenantId, tenantId), eq(workflows.isActive, true))!;
    const [changed, state] = await runFactory(c, deactivate, [
      audited(db, userActor(c), { action: "deactivate", resourceType: "workflow", table: workflows, where, change: db.update(workflows).set({ isActive: false }).where(where).returning() }),
      workflowState(db, tenantId, id),
    ] as const);
    const [row] = changedRows(workflows, changed);
    if (row) return c.json(wire(row), 200);
    if (!state[0]) throw notFound(`workflow ${id}`);
    throw new ApiError(409, "not_active", `workflow ${id} is not active`);
  })
  .openapi(remove, async (c) => {
    const { id } = c.req.valid("param");
    const { db } = c.var;
    const tenantId = tenantOf(c.var.principal!);
    const where = and(
      eq(workflows.id, id),
      eq(workflows.tenantId, tenantId),
      eq(workflows.isActive, false),
      sql`not ${workflowInstancesExist}`,
      sql`not ${workflowJudgmentsExist}`,
    )!;
    const [deleted, state] = await runFactory(c, remove, [
      audited(db, userActor(c), { action: "delete", resourceType: "workflow", table: workflows, where, change: db.delete(workflows).where(where).returning() }),
      workflowState(db, tenantId, id),
    ] as const);
    if (deleted.rows.length) return c.body(null, 204);
    const s = state[0];
    if (!s) throw notFound(`workflow ${id}`);
    if (s.isActive) throw new ApiError(409, "workflow_active", `workflow ${id} is active: deactivate it first`);
    throw new ApiError(409, "workflow_in_use", `workflow ${id} has ${s.instances ? "instances" : "judgments"} that reference it; deactivate it instead`);
  })
  .openapi(rotateSecret, async (c) => {
    const { id } = c.req.valid("param");
    const { db } = c.var;
    const tenantId = tenantOf(c.var.principal!);
    const webhook = await sealedSecret(c, tenantId, id);
    if (!webhook) throw keysMissing();
    // The workflow row carries the audit of a rotation (updated_at moves); the secret itself is never in an audit state.
    const where = and(eq(workflows.id, id), eq(workflows.tenantId, tenantId), sql`${workflows.triggerConfig} ->> 'type' = 'webhook'`)!;
    const [, stored, state] = await runFactory(c, rotateSecret, [
      audited(db, userActor(c), { action: "rotate_webhook_secret", resourceType: "workflow", table: workflows, where, change: db.update(workflows).set({ updatedAt: sql`now()` }).where(where).returning() }),
      storeWebhookSecret(db, id, webhook.sealed, true),
      workflowState(db, tenantId, id),
    ] as const);
    if (stored.rows.length) return c.json({ workflowId: id, webhookSecret: webhook.secret }, 200);
    if (!state[0]) throw notFound(`workflow ${id}`);
    throw new ApiError(409, "not_webhook_triggered", `workflow ${id} is triggered by ${state[0].triggerType ?? "hand"}, not a webhook: it has no secret`);
  });

workflowRoutes.openAPIRegistry.registerComponent("schemas", DSL_COMPONENT, (() => {
  const { $schema: _s, $id: _i, ...schema } = dslJsonSchema();
  return schema;
})());

/** Steps as an insert returned them (raw rows of db.execute). */
function stepRows(result: unknown): z.infer<typeof Step>[] {
  return changedRows(workflowSteps, result as { rows: Record<string, unknown>[] }).sort((a, b) => a.stepOrder - b.stepOrder) as never;
}
