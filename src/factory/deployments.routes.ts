import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { and, eq } from "drizzle-orm";
import type { AppEnv } from "../platform/context";
import { keyset } from "../platform/paging";
import { ApiError, fieldError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { relayAfterResponse } from "../platform/relay";
import { createRouter } from "../platform/router";
import { pageOf, PageQuery, uuidParams } from "../platform/schemas";
import { columnsOf } from "../platform/table-schema";
import { factoryRoute, runFactory, type FactoryAccess } from "./access";
import { changedRows, userActor } from "./audit";
import { deploymentRow, insertDeployment, MOVES, moveStatements, type MoveName } from "./deployment-sql";
import { CanaryTargetFilter, RuleDeployment } from "./rule-schemas";
import { notCompiled } from "./rule-scripts.routes";
import { DEPLOYMENT_STATUSES, ruleDeployments } from "./schema";

const DeploymentPage = pageOf(RuleDeployment, "FactoryRuleDeploymentPage");
const Version = z.int().min(1).max(2_147_483_647);
const DeployInput = z
  .object({
    version: Version,
    changelog: z.string().trim().min(1).max(10_000),
    canaryPct: z.number().gt(0).max(1).optional().openapi({ description: "Share of matching traffic the version takes as a canary once approved (0.1 = 10%); without it, approval makes it active" }),
    canaryTargetFilter: CanaryTargetFilter.optional(),
    rollbackTo: Version.optional().openapi({ description: "The version a rollback restores; default: the version active now. Must have been approved before" }),
  })
  .strict()
  .refine((b) => b.canaryTargetFilter === undefined || b.canaryPct !== undefined, { path: ["canaryTargetFilter"], message: "needs canaryPct" })
  .refine((b) => b.rollbackTo !== b.version, { path: ["rollbackTo"], message: "must differ from version" })
  .openapi("FactoryDeployInput");

const tags = ["factory"];
const IdParam = uuidParams("id");

const requestDeployment = factoryRoute(
  {
    method: "post",
    path: "/rules/rulesets/{id}/deploy",
    tags,
    summary: "Request the deployment of a compiled version: a draft that another user approves (four eyes)",
    permission: "deployment:create",
    request: { params: IdParam, body: jsonBody(DeployInput) },
    responses: { 201: json(RuleDeployment, "Requested (draft)") },
  },
  404,
  409,
);
const listDeployments = factoryRoute({
  method: "get",
  path: "/rules/deployments",
  tags,
  summary: "The tenant's deployments, newest first, optionally of one ruleset or status",
  permission: "deployment:read",
  request: { query: z.object({ rulesetId: z.uuid().optional(), status: z.enum(DEPLOYMENT_STATUSES).optional(), ...PageQuery }) },
  responses: { 200: json(DeploymentPage, "A page of deployments") },
});
const getDeployment = factoryRoute(
  { method: "get", path: "/rules/deployments/{id}", tags, summary: "A deployment", permission: "deployment:read", request: { params: IdParam }, responses: { 200: json(RuleDeployment, "The deployment") } },
  404,
);

const MOVE_ROUTES: Record<MoveName, { permission: string; summary: string }> = {
  approve: { permission: "deployment:approve", summary: "Approve a draft (not its requester): canary when it has canary_pct, else active (the previous active one is deprecated)" },
  promote: { permission: "deployment:approve", summary: "Promote a canary to active (not its requester); the previous active one is deprecated" },
  rollback: { permission: "deployment:rollback", summary: "Roll back a canary or active deployment; an active one's rollback_to becomes active again" },
  deprecate: { permission: "deployment:deprecate", summary: "Withdraw a draft, or retire a canary or active deployment" },
};

const moveRoute = (name: MoveName) =>
  factoryRoute(
    {
      method: "post",
      path: `/rules/deployments/{id}/${name}`,
      tags,
      summary: MOVE_ROUTES[name].summary,
      permission: MOVE_ROUTES[name].permission,
      request: { params: IdParam },
      responses: { 200: json(RuleDeployment, "Moved") },
    },
    404,
    409,
  );

const byCreation = keyset([ruleDeployments.createdAt, ruleDeployments.id], "desc");
const withoutExtras = <T extends { otherCanary: unknown }>({ otherCanary: _, ...row }: T) => row;

type Row = Awaited<ReturnType<typeof deploymentRow>>[number];

/** Why a move matched nothing: gone, four eyes, another canary in the slot, or the wrong state. */
function refused(id: string, name: MoveName, row: Row | undefined, caller: string): ApiError {
  if (!row) return notFound(`deployment ${id}`);
  const from = MOVES[name].from;
  if (!from.includes(row.status)) {
    return new ApiError(409, "invalid_state", `deployment ${id} is ${row.status}; ${name} needs ${from.join(" or ")}`, { currentStatus: row.status, allowed: from });
  }
  if ((name === "approve" || name === "promote") && row.requestedBy === caller) {
    return new ApiError(403, "four_eyes_required", `four-eyes rule: the requester of deployment ${id} may not ${name} it; another user holding deployment:approve must`, {
      rule: "four_eyes",
    });
  }
  return new ApiError(409, "canary_in_progress", `deployment ${row.otherCanary} is the ruleset's canary; roll it back, promote or deprecate it first`, {
    canaryDeploymentId: row.otherCanary,
  });
}

function moveHandler(name: MoveName, route: FactoryAccess) {
  return async (c: Context<AppEnv>) => {
    const { db } = c.var;
    const { id } = c.req.param() as { id: string };
    const { statements, moveAt } = moveStatements(db, userActor(c), id, name);
    const results = (await runFactory(c, route, statements)) as unknown[];
    const row = (results.at(-1) as Row[])[0];
    if (!(results[moveAt] as { rows: unknown[] }).rows.length) throw refused(id, name, row, c.var.principal!.userId);
    if (name === "approve" || name === "promote") relayAfterResponse(c);
    return c.json(withoutExtras(row!), 200);
  };
}

const approve = moveRoute("approve");
const promote = moveRoute("promote");
const rollback = moveRoute("rollback");
const deprecate = moveRoute("deprecate");

export const deploymentRoutes = createRouter()
  .openapi(requestDeployment, async (c) => {
    const { db } = c.var;
    const { id: rulesetId } = c.req.valid("param");
    const body = c.req.valid("json");
    const request = {
      id: crypto.randomUUID(),
      rulesetId,
      version: body.version,
      changelog: body.changelog,
      canaryPct: body.canaryPct ?? null,
      canaryTargetFilter: body.canaryTargetFilter ?? null,
      rollbackTo: body.rollbackTo ?? null,
    };
    const [inserted, , state] = await runFactory(c, requestDeployment, insertDeployment(db, userActor(c), request));
    const row = changedRows(ruleDeployments, inserted)[0];
    if (row) {
      relayAfterResponse(c);
      return c.json(row, 201);
    }
    const s = state[0]!;
    if (!s.ruleset) throw notFound(`ruleset ${rulesetId}`);
    if (s.compileStatus === null) throw notFound(`version ${body.version} of ruleset ${rulesetId}`);
    if (s.compileStatus !== "compiled") throw notCompiled(rulesetId, body.version);
    throw fieldError("json.rollbackTo", `version ${body.rollbackTo} of ruleset ${rulesetId} was never approved`);
  })
  .openapi(listDeployments, async (c) => {
    const { db } = c.var;
    const q = c.req.valid("query");
    const [rows] = await runFactory(c, listDeployments, [
      db
        .select({ ...columnsOf(ruleDeployments), ...byCreation.columns })
        .from(ruleDeployments)
        .where(
          and(
            q.rulesetId ? eq(ruleDeployments.rulesetId, q.rulesetId) : undefined,
            q.status ? eq(ruleDeployments.status, q.status) : undefined,
            byCreation.after(q.cursor),
          ),
        )
        .orderBy(...byCreation.orderBy)
        .limit(q.limit + 1),
    ] as const);
    return c.json(byCreation.page(rows, q.limit), 200);
  })
  .openapi(getDeployment, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const [rows] = await runFactory(c, getDeployment, [deploymentRow(db, id)] as const);
    if (!rows[0]) throw notFound(`deployment ${id}`);
    return c.json(withoutExtras(rows[0]), 200);
  })
  .openapi(approve, moveHandler("approve", approve))
  .openapi(promote, moveHandler("promote", promote))
  .openapi(rollback, moveHandler("rollback", rollback))
  .openapi(deprecate, moveHandler("deprecate", deprecate));
