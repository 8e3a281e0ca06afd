import { z } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import { JsonObject, patchBody } from "../platform/input";
import { keyset } from "../platform/paging";
import { ApiError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { pageOf, PageQuery, uuidParams } from "../platform/schemas";
import { columnsOf } from "../platform/table-schema";
import { factoryRoute, runFactory, tenantOf } from "./access";
import { audited, changedRows, userActor } from "./audit";
import { Ruleset } from "./rule-schemas";
import { RULE_CATEGORIES, ruleConflicts, ruleDeployments, rulesets } from "./schema";

const RulesetPage = pageOf(Ruleset, "FactoryRulesetPage");

// Names are keyset cursors (at most 128 characters, src/platform/paging.ts).
const Name = z.string().trim().min(1).max(128);
const settable = {
  name: Name,
  description: z.string().max(10_000).nullable().optional(),
  targetKpi: z.string().trim().min(1).max(100).openapi({ description: "The KPI the rules judge: defect_rate, oee, cycle_time, inventory_cov, …" }),
  category: z.enum(RULE_CATEGORIES).nullable().optional(),
  priority: z.int().min(0).max(1_000_000).optional(),
  metadata: JsonObject.optional(),
};
const RulesetInput = z.object(settable).strict().openapi("FactoryRulesetInput");
const RulesetPatch = patchBody(z.object(settable).partial().strict()).openapi("FactoryRulesetPatch", {
  description: "is_active is not settable: it says whether the ruleset has an active deployment",
});

const tags = ["factory"];
const IdParam = uuidParams("id");

const createRuleset = factoryRoute(
  {
    method: "post",
    path: "/rules/rulesets",
    tags,
    summary: "Create a ruleset (one name per tenant)",
    permission: "rule:create",
    request: { body: jsonBody(RulesetInput) },
    responses: { 201: json(Ruleset, "Created") },
  },
  409,
);
const listRulesets = factoryRoute({
  method: "get",
  path: "/rules/rulesets",
  tags,
  summary: "The tenant's rulesets by name, optionally of one KPI, category or activity",
  permission: "rule:read",
  request: {
    query: z.object({
      targetKpi: z.string().max(100).optional(),
      category: z.enum(RULE_CATEGORIES).optional(),
      isActive: z.enum(["true", "false"]).optional().openapi({ description: "Only rulesets with (true) or without (false) an active deployment" }),
      ...PageQuery,
    }),
  },
  responses: { 200: json(RulesetPage, "A page of rulesets") },
});
const getRuleset = factoryRoute(
  { method: "get", path: "/rules/rulesets/{id}", tags, summary: "A ruleset", permission: "rule:read", request: { params: IdParam }, responses: { 200: json(Ruleset, "The ruleset") } },
  404,
);
const updateRuleset = factoryRoute(
  {
    method: "patch",
    path: "/rules/rulesets/{id}",
    tags,
    summary: "Change a ruleset's name, description, KPI, category, priority or metadata",
    permission: "rule:update",
    request: { params: IdParam, body: jsonBody(RulesetPatch) },
    responses: { 200: json(Ruleset, "Changed") },
  },
  404,
  409,
);
const deleteRuleset = factoryRoute(
  {
    method: "delete",
    path: "/rules/rulesets/{id}",
    tags,
    summary: "Delete a ruleset that never had a deployment, with its versions and their conflicts",
    permission: "rule:delete",
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" } },
  },
  404,
  409,
);

const byName = keyset([rulesets.name], "asc");
const nameTaken = (name: string) => new ApiError(409, "ruleset_name_taken", `a ruleset named '${name}' already exists in this tenant`, { name });
const neverDeployed = sql`not exists (select 1 from ${ruleDeployments} d where d.ruleset_id = ${rulesets.id})`;

export const rulesetRoutes = createRouter()
  .openapi(createRuleset, async (c) => {
    const { db } = c.var;
    const input = c.req.valid("json");
    const change = db
      .insert(rulesets)
      .values({ ...input, tenantId: tenantOf(c.var.principal!), createdBy: sql`app.user_id()` })
      .onConflictDoNothing({ target: [rulesets.tenantId, rulesets.name] })
      .returning();
    const [created] = await runFactory(c, createRuleset, [audited(db, userActor(c), { action: "create", resourceType: "ruleset", table: rulesets, change })] as const);
    const row = changedRows(rulesets, created)[0];
    if (!row) throw nameTaken(input.name);
    return c.json(row, 201);
  })
  .openapi(listRulesets, async (c) => {
    const { db } = c.var;
    const q = c.req.valid("query");
    const [rows] = await runFactory(c, listRulesets, [
      db
        .select({ ...columnsOf(rulesets), ...byName.columns })
        .from(rulesets)
        .where(
          and(
            q.targetKpi ? eq(rulesets.targetKpi, q.targetKpi) : undefined,
            q.category ? eq(rulesets.category, q.category) : undefined,
            q.isActive ? eq(rulesets.isActive, q.isActive === "true") : undefined,
            byName.after(q.cursor),
          ),
        )
        .orderBy(...byName.orderBy)
        .limit(q.limit + 1),
    ] as const);
    return c.json(byName.page(rows, q.limit), 200);
  })
  .openapi(getRuleset, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const [rows] = await runFactory(c, getRuleset, [db.select(columnsOf(rulesets)).from(rulesets).where(eq(rulesets.id, id))] as const);
    if (!rows[0]) throw notFound(`ruleset ${id}`);
    return c.json(rows[0], 200);
  })
  .openapi(updateRuleset, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const patch = c.req.valid("json");
    const where = eq(rulesets.id, id);
    const taken = patch.name === undefined ? sql`false` : sql`exists (select 1 from ${rulesets} o where o.name = ${patch.name} and o.id <> ${id}::uuid)`;
    const change = db
      .update(rulesets)
      .set(patch)
      .where(and(where, sql`not ${taken}`))
      .returning();
    const [updated, state] = await runFactory(c, updateRuleset, [
      audited(db, userActor(c), { action: "update", resourceType: "ruleset", table: rulesets, change, where }),
      db.select({ exists: sql<boolean>`exists (select 1 from ${rulesets} where ${where})`, taken: sql<boolean>`${taken}` }).from(sql`(select 1) as one`),
    ] as const);
    const row = changedRows(rulesets, updated)[0];
    if (row) return c.json(row, 200);
    if (!state[0]!.exists) throw notFound(`ruleset ${id}`);
    throw nameTaken(patch.name!);
  })
  .openapi(deleteRuleset, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const where = and(eq(rulesets.id, id), neverDeployed)!;
    const [, deleted, state] = await runFactory(c, deleteRuleset, [
      // The version's own findings go with it (rule_conflicts has no cascade); a deployed ruleset keeps everything.
      db.delete(ruleConflicts).where(and(eq(ruleConflicts.rulesetId, id), sql`exists (select 1 from ${rulesets} where ${where})`)),
      audited(db, userActor(c), { action: "delete", resourceType: "ruleset", table: rulesets, change: db.delete(rulesets).where(where).returning(), where }),
      db.select({ exists: sql<boolean>`exists (select 1 from ${rulesets} where ${rulesets.id} = ${id}::uuid)` }).from(sql`(select 1) as one`),
    ] as const);
    if (deleted.rows.length) return c.body(null, 204);
    if (!state[0]!.exists) throw notFound(`ruleset ${id}`);
    throw new ApiError(409, "ruleset_deployed", `ruleset ${id} has deployments and cannot be deleted; deprecate them instead`);
  });
