import { z } from "@hono/zod-openapi";
import { and, eq, or, sql } from "drizzle-orm";
import { keyset } from "../platform/paging";
import { notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { pageOf, PageQuery, uuidParams } from "../platform/schemas";
import { columnsOf } from "../platform/table-schema";
import { factoryRoute, runFactory } from "./access";
import { audited, changedRows, userActor } from "./audit";
import { RuleConflict } from "./rule-schemas";
import { CONFLICT_SEVERITIES, CONFLICT_TYPES, RESOLUTION_STATUSES, ruleConflicts } from "./schema";

const ConflictPage = pageOf(RuleConflict, "FactoryRuleConflictPage");
const ConflictPatch = z
  .object({
    resolutionStatus: z.enum(RESOLUTION_STATUSES),
    resolutionNote: z.string().trim().min(1).max(10_000).nullable().optional(),
  })
  .strict()
  .openapi("FactoryRuleConflictPatch", { description: "resolved and accepted record who and when (resolved_by, resolved_at); unresolved and investigating clear them" });

const tags = ["factory"];
const IdParam = uuidParams("id");

const listConflicts = factoryRoute({
  method: "get",
  path: "/rules/conflicts",
  tags,
  summary: "Detected rule conflicts, newest first, by ruleset (either side), resolution status, type and severity",
  permission: "rule:read",
  request: {
    query: z.object({
      rulesetId: z.uuid().optional(),
      status: z.enum(RESOLUTION_STATUSES).optional(),
      type: z.enum(CONFLICT_TYPES).optional(),
      severity: z.enum(CONFLICT_SEVERITIES).optional(),
      ...PageQuery,
    }),
  },
  responses: { 200: json(ConflictPage, "A page of conflicts") },
});
const getConflict = factoryRoute(
  { method: "get", path: "/rules/conflicts/{id}", tags, summary: "A rule conflict", permission: "rule:read", request: { params: IdParam }, responses: { 200: json(RuleConflict, "The conflict") } },
  404,
);
const resolveConflict = factoryRoute(
  {
    method: "patch",
    path: "/rules/conflicts/{id}",
    tags,
    summary: "Set a conflict's resolution status and note",
    permission: "rule:update",
    request: { params: IdParam, body: jsonBody(ConflictPatch) },
    responses: { 200: json(RuleConflict, "Changed") },
  },
  404,
);

const byDetection = keyset([ruleConflicts.detectedAt, ruleConflicts.id], "desc");
const CLOSED = ["resolved", "accepted"];

export const conflictRoutes = createRouter()
  .openapi(listConflicts, async (c) => {
    const { db } = c.var;
    const q = c.req.valid("query");
    const [rows] = await runFactory(c, listConflicts, [
      db
        .select({ ...columnsOf(ruleConflicts), ...byDetection.columns })
        .from(ruleConflicts)
        .where(
          and(
            q.rulesetId ? or(eq(ruleConflicts.rulesetId, q.rulesetId), eq(ruleConflicts.otherRulesetId, q.rulesetId)) : undefined,
            q.status ? eq(ruleConflicts.resolutionStatus, q.status) : undefined,
            q.type ? eq(ruleConflicts.conflictType, q.type) : undefined,
            q.severity ? eq(ruleConflicts.severity, q.severity) : undefined,
            byDetection.after(q.cursor),
          ),
        )
        .orderBy(...byDetection.orderBy)
        .limit(q.limit + 1),
    ] as const);
    return c.json(byDetection.page(rows, q.limit), 200);
  })
  .openapi(getConflict, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const [rows] = await runFactory(c, getConflict, [db.select(columnsOf(ruleConflicts)).from(ruleConflicts).where(eq(ruleConflicts.id, id))] as const);
    if (!rows[0]) throw notFound(`conflict ${id}`);
    return c.json(rows[0], 200);
  })
  .openapi(resolveConflict, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const closed = CLOSED.includes(body.resolutionStatus);
    const where = eq(ruleConflicts.id, id);
    const change = db
      .update(ruleConflicts)
      .set({
        resolutionStatus: body.resolutionStatus,
        ...(body.resolutionNote !== undefined ? { resolutionNote: body.resolutionNote } : {}),
        resolvedBy: closed ? sql`app.user_id()` : null,
        resolvedAt: closed ? sql`now()` : null,
      })
      .where(where)
      .returning();
    const [updated] = await runFactory(c, resolveConflict, [audited(db, userActor(c), { action: "update", resourceType: "rule_conflict", table: ruleConflicts, change, where })] as const);
    const row = changedRows(ruleConflicts, updated)[0];
    if (!row) throw notFound(`conflict ${id}`);
    return c.json(row, 200);
  });
