import { z } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import { hasRole, type Principal } from "../platform/auth";
import { runAs } from "../platform/db";
import { freeJson, JsonObject, patchBody } from "../platform/input";
import { keyset } from "../platform/paging";
import { ApiError, fieldErrors, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { pageOf, PageQuery, uuidParams } from "../platform/schemas";
import { columnsOf, rowSchema } from "../platform/table-schema";
import { agentRoute, callerOrg, notProvisioned, OPERATOR_ROLE, requireAgentRole } from "./access";
import { invalidateToolCache } from "./exec-cache";
import { ToolName } from "./fields";
import { TOOL_TYPES, tools } from "./schema";
import { forgetTool } from "./tool-cache";
import { parametersSchemaFaults } from "./tool-params";
import { toolState } from "./tool-sql";

const ParametersSchema = z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]);
export const Tool = rowSchema(tools, { parametersSchema: ParametersSchema, outputSchema: JsonObject.nullable() }).openapi("AgentTool");
const ToolPage = pageOf(Tool, "AgentToolPage");

const Words = z.array(z.string().min(1).max(100)).max(50);
const settable = {
  displayName: z.string().max(200).nullable().optional(),
  description: z.string().max(10_000).nullable().optional(),
  type: z.enum(TOOL_TYPES),
  layer: z.string().regex(/^[A-Za-z0-9_.-]{1,50}$/, "must be 1–50 letters, digits, _ . or -"),
  parametersSchema: freeJson(z.unknown()).openapi({ description: "JSON Schema 2020-12 of the tool's params; [] (the default) means none" }),
  outputSchema: JsonObject.nullable().optional(),
  executorClass: z.string().min(1).max(255),
  timeoutSeconds: z.int().min(1).max(86_400).optional(),
  tags: Words.optional(),
  version: z.string().min(1).max(20).optional(),
  dependencies: Words.optional(),
  cacheTtlSeconds: z.int().min(0).max(604_800).nullable().optional().openapi({ description: "Seconds results stay in the §8.2 cache; null = 1 hour, 0 = never cached" }),
};
const ToolInput = z
  .object({ name: ToolName, ...settable, parametersSchema: settable.parametersSchema.optional() })
  .strict()
  .openapi("AgentToolInput");
const ToolPatch = patchBody(z.object(settable).partial().strict()).openapi("AgentToolPatch", { description: "A tool's name cannot change: plans and cache keys refer to it" });

const tags = ["agent"];
const IdParam = uuidParams("id");

const createTool = agentRoute(
  {
    method: "post",
    path: "/tools",
    tags,
    summary: "Register a tool: admins for their organization, operators a tool every organization shares",
    request: { body: jsonBody(ToolInput) },
    responses: { 201: json(Tool, "Registered") },
  },
  403,
  409,
);
const listTools = agentRoute({
  method: "get",
  path: "/tools",
  tags,
  summary: "Tools the caller's organization may use (its own and the shared ones), by name, optionally of one type and layer",
  request: {
    query: z.object({
      type: z.enum(TOOL_TYPES).optional(),
      layer: z.string().max(50).optional(),
      status: z.enum(["active", "inactive", "all"]).default("active"),
      ...PageQuery,
    }),
  },
  responses: { 200: json(ToolPage, "A page of tools") },
});
const getTool = agentRoute(
  { method: "get", path: "/tools/{id}", tags, summary: "A tool", request: { params: IdParam }, responses: { 200: json(Tool, "The tool") } },
  404,
);
const updateTool = agentRoute(
  {
    method: "patch",
    path: "/tools/{id}",
    tags,
    summary: "Change a tool (its managers); drops its cached results",
    request: { params: IdParam, body: jsonBody(ToolPatch) },
    responses: { 200: json(Tool, "Changed") },
  },
  403,
  404,
);
const deactivateTool = agentRoute(
  {
    method: "post",
    path: "/tools/{id}/deactivate",
    tags,
    summary: "Deactivate a tool (its managers): plans may no longer call it; drops its cached results",
    request: { params: IdParam },
    responses: { 200: json(Tool, "Deactivated") },
  },
  403,
  404,
  409,
);

/** Operators manage shared tools; an organization's admins its own. Row-level security (0010 tools_write) says the same. */
function requireToolManager(p: Principal, action: string): { shared: boolean } {
  if (hasRole(p, OPERATOR_ROLE)) return { shared: true };
  requireAgentRole(p, ["admin"], action);
  return { shared: false };
}

/** The schema as the column holds it, once parametersSchemaFaults found it valid (an object or `[]`). */
function checkedSchema(schema: unknown): Record<string, unknown> | unknown[] | undefined {
  if (schema === undefined) return undefined;
  const faults = parametersSchemaFaults(schema);
  if (faults.length) throw fieldErrors(faults);
  return schema as Record<string, unknown> | unknown[];
}

/** Why a write to a tool matched nothing: not visible, not the caller's to manage, or (deactivating) already inactive. */
function refused(id: string, state: { isActive: boolean; shared: boolean } | undefined, shared: boolean, action: string): ApiError {
  if (!state) return notFound(`tool ${id}`);
  if (state.shared !== shared) {
    return new ApiError(403, "agent_role_required", `only ${state.shared ? "operators" : "the owning organization's admins"} may ${action} tool ${id}`);
  }
  return new ApiError(409, "invalid_state", `cannot ${action} tool ${id}: it is inactive`, { currentStatus: "inactive" });
}

const byName = keyset([tools.name], "asc");

export const toolRoutes = createRouter()
  .openapi(createTool, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const { shared } = requireToolManager(principal, "register a tool");
    const input = c.req.valid("json");
    const parametersSchema = checkedSchema(input.parametersSchema);
    const orgId = shared ? null : callerOrg(principal);
    if (!shared && !orgId) throw notProvisioned(principal);
    const [rows] = await runAs(db, principal, [db.insert(tools).values({ ...input, parametersSchema, organizationId: orgId }).returning()] as const);
    return c.json(rows[0]!, 201);
  })
  .openapi(listTools, async (c) => {
    const { db } = c.var;
    const q = c.req.valid("query");
    const active = sql`coalesce(${tools.isActive}, true)`;
    const [rows] = await runAs(db, c.var.principal, [
      db
        .select({ ...columnsOf(tools), ...byName.columns })
        .from(tools)
        .where(
          and(
            q.type ? eq(tools.type, q.type) : undefined,
            q.layer ? eq(tools.layer, q.layer) : undefined,
            q.status === "all" ? undefined : q.status === "active" ? sql`${active}` : sql`not ${active}`,
            byName.after(q.cursor),
          ),
        )
        .orderBy(...byName.orderBy)
        .limit(q.limit + 1),
    ] as const);
    return c.json(byName.page(rows, q.limit), 200);
  })
  .openapi(getTool, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const [rows] = await runAs(db, c.var.principal, [db.select(columnsOf(tools)).from(tools).where(eq(tools.id, id))] as const);
    if (!rows[0]) throw notFound(`tool ${id}`);
    return c.json(rows[0], 200);
  })
  .openapi(updateTool, async (c) => {
    const { db, redis, config } = c.var;
    const principal = c.var.principal!;
    const { shared } = requireToolManager(principal, "change a tool");
    const { id } = c.req.valid("param");
    const patch = c.req.valid("json");
    const parametersSchema = checkedSchema(patch.parametersSchema);
    const [rows, state] = await runAs(db, principal, [
      db.update(tools).set({ ...patch, parametersSchema, updatedAt: sql`now()` }).where(eq(tools.id, id)).returning(),
      toolState(db, id),
    ] as const);
    const row = rows[0];
    if (!row) throw refused(id, state[0], shared, "change");
    await Promise.all([invalidateToolCache(redis, config, row.name), forgetTool(redis, config, row.name)]);
    return c.json(row, 200);
  })
  .openapi(deactivateTool, async (c) => {
    const { db, redis, config } = c.var;
    const principal = c.var.principal!;
    const { shared } = requireToolManager(principal, "deactivate a tool");
    const { id } = c.req.valid("param");
    const [rows, state] = await runAs(db, principal, [
      db
        .update(tools)
        .set({ isActive: false, updatedAt: sql`now()` })
        .where(and(eq(tools.id, id), sql`coalesce(${tools.isActive}, true)`))
        .returning(),
      toolState(db, id),
    ] as const);
    const row = rows[0];
    if (!row) throw refused(id, state[0], shared, "deactivate");
    await Promise.all([invalidateToolCache(redis, config, row.name), forgetTool(redis, config, row.name)]);
    return c.json(row, 200);
  });
