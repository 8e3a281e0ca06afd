import { z } from "@hono/zod-openapi";
import { eq, sql } from "drizzle-orm";
import { runAs } from "../platform/db";
import { freeJson, JsonObject } from "../platform/input";
import { ApiError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { Timestamp } from "../platform/schemas";
import { agentRoute, callerOrg, notProvisioned, requireAgentRole, WRITERS } from "./access";
import { lookupExecResult, storeExecResult } from "./exec-cache";
import { ToolName } from "./fields";
import { tools, users } from "./schema";

const Count = z.int().min(0).max(2_000_000_000);
const ExecutionResultSchema = z
  .object({
    toolName: z.string(),
    toolVersion: z.string().nullable(),
    inputHash: z.string(),
    organizationId: z.uuid(),
    success: z.literal(true),
    resultData: z.unknown(),
    outputPath: z.string().nullable(),
    executionTimeMs: z.int(),
    tokensUsed: z.int().nullable(),
    apiCallsCount: z.int().nullable(),
    completedAt: z.string(),
  })
  .openapi("AgentExecutionResult");
const Lookup = z.object({ toolName: ToolName, params: JsonObject.default({}) }).strict().openapi("AgentExecCacheLookup");
const LookupAnswer = z
  .object({ hit: z.boolean(), key: z.string(), inputHash: z.string(), result: ExecutionResultSchema.nullable() })
  .openapi("AgentExecCacheLookupAnswer");
const Store = z
  .object({
    toolName: ToolName,
    params: JsonObject.default({}),
    result: z
      .object({
        resultData: freeJson(z.unknown()),
        outputPath: z.string().max(1000).nullable().optional(),
        executionTimeMs: Count,
        tokensUsed: Count.nullable().optional(),
        apiCallsCount: Count.nullable().optional(),
        completedAt: Timestamp.optional(),
      })
      .strict(),
  })
  .strict()
  .openapi("AgentExecCacheStore");
const StoreAnswer = z
  .object({ stored: z.boolean(), key: z.string(), inputHash: z.string(), ttlSeconds: z.int(), result: ExecutionResultSchema })
  .openapi("AgentExecCacheStoreAnswer");

const tags = ["agent"];

const lookup = agentRoute({
  method: "post",
  path: "/exec-cache/lookup",
  tags,
  summary: "Look up a tool's cached result for these params (§8.2) before running it; never reads Postgres",
  request: { body: jsonBody(Lookup) },
  responses: { 200: json(LookupAnswer, "hit: the cached ExecutionResult; else result null") },
});
const store = agentRoute(
  {
    method: "post",
    path: "/exec-cache",
    tags,
    summary: "Store a successful run of an active, cacheable tool for these params (§8.2), for the tool's TTL",
    request: { body: jsonBody(Store) },
    responses: { 200: json(StoreAnswer, "Stored (stored false: Redis is unavailable)") },
  },
  403,
  404,
  409,
);

export const execCacheRoutes = createRouter()
  .openapi(lookup, async (c) => {
    const { redis, config } = c.var;
    const { toolName, params } = c.req.valid("json");
    const found = await lookupExecResult(redis, config, toolName, params, callerOrg(c.var.principal!));
    return c.json({ hit: found.result !== null, ...found }, 200);
  })
  .openapi(store, async (c) => {
    const { db, redis, config } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, WRITERS, "store a tool result");
    const orgId = callerOrg(principal);
    if (!orgId) throw notProvisioned(principal);
    const { toolName, params, result } = c.req.valid("json");
    const [rows] = await runAs(db, principal, [
      db
        .select({
          name: tools.name,
          version: tools.version,
          cacheTtlSeconds: tools.cacheTtlSeconds,
          isActive: sql<boolean>`coalesce(${tools.isActive}, true)`,
          member: sql<boolean>`exists (select 1 from ${users} where ${users.id} = ${principal.userId}::uuid and ${users.organizationId} = ${orgId}::uuid and ${users.isActive})`,
        })
        .from(tools)
        .where(eq(tools.name, toolName)),
    ] as const);
    const tool = rows[0];
    if (!tool) throw notFound(`tool ${toolName}`);
    if (!tool.member) throw notProvisioned(principal);
    if (!tool.isActive) throw new ApiError(409, "invalid_state", `tool ${toolName} is inactive`, { currentStatus: "inactive" });
    const stored = await storeExecResult(redis, config, tool, orgId, params, result);
    if (!stored) throw new ApiError(409, "tool_not_cacheable", `tool ${toolName} has cacheTtlSeconds 0: its results are never cached`);
    return c.json(stored, 200);
  });
