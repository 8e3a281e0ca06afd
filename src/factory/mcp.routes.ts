import { z } from "@hono/zod-openapi";
import { and, asc, eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { JsonObject, patchBody } from "../platform/input";
import { keyset } from "../platform/paging";
import { problemResponses } from "../platform/openapi";
import { ApiError, fieldError, fieldErrors, notFound } from "../platform/problem";
import { requestOrigin } from "../platform/request-origin";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { listOf, pageOf, PageQuery, uuidParams } from "../platform/schemas";
import { seal } from "../platform/sealed-secrets";
import { factoryRoute, runFactory, tenantOf } from "./access";
import { audited, changedRows, userActor } from "./audit";
import { fieldPath } from "./mcp-arguments";
import { callMcpTool, McpCallError, openAuth, targetOf, type McpCallErrorKind } from "./mcp-call";
import { McpFailure, withMcpSession } from "./mcp-client";
import { checkedAuth, checkedConfig, checkedEndpoint, stdioRefused } from "./mcp-config";
import { authOwner, McpServer, McpTool, sealedAuth, serverColumns, serverForSession, serverOf, writeDiscovery, type DiscoveredTool, type Runner } from "./mcp-sql";
import { mcpCallLogs, mcpServers, mcpTools, MCP_PROTOCOLS } from "./schema";

const tags = ["factory"];
const IdParam = uuidParams("id");
const Name = z.string().trim().min(1).max(128);
const Endpoint = z.string().min(1).max(2048).openapi({ description: "sse: the http(s) URL of the Streamable HTTP endpoint or of the legacy SSE stream; websocket: a ws(s) or http(s) URL" });
const Protocol = z.enum(MCP_PROTOCOLS).openapi({ description: "sse (Streamable HTTP, or legacy HTTP+SSE with config.transport legacy_sse) or websocket; stdio is refused (422): it cannot run on the edge" });
const Config = JsonObject.openapi({
  description:
    "{transport: streamable_http|legacy_sse (sse only, default streamable_http), timeout_ms (10000, ≤ 60000), max_retries (2, ≤ 5), retry_backoff_ms (200), " +
    "circuit_breaker: {failure_threshold (5), cooldown_seconds (30)}, headers (not secret)}",
});
const AuthConfig = JsonObject.openapi({ description: "Write-only, sealed with AES-GCM and never returned: {bearer_token} and/or {headers}" });

const ServerInput = z
  .object({ name: Name, endpoint: Endpoint, protocol: Protocol.optional(), config: Config.optional(), authConfig: AuthConfig.optional() })
  .strict()
  .openapi("FactoryMcpServerInput");
const ServerPatch = patchBody(
  z
    .object({
      name: Name,
      endpoint: Endpoint,
      protocol: Protocol.openapi({ description: "Required with endpoint" }),
      config: Config.openapi({ description: "Replaces the config whole (defaults applied)" }),
      authConfig: AuthConfig.nullable().openapi({ description: "New auth_config (sealed under the current key), or null to remove it" }),
    })
    .partial()
    .strict(),
).openapi("FactoryMcpServerPatch", { description: "A new endpoint, protocol or auth_config is a new server to the breaker: closed, fail_count 0, status inactive" });

const ServerPage = pageOf(McpServer, "FactoryMcpServerPage");
const ToolList = listOf(McpTool, "FactoryMcpToolList");
const Discovery = z
  .object({
    added: z.array(z.string()),
    updated: z.array(z.string()),
    disabled: z.array(z.string()).openapi({ description: "Tools the server no longer lists (kept for their call logs)" }),
    tools: z.array(McpTool),
  })
  .openapi("FactoryMcpDiscovery");
const CallInput = z
  .object({ arguments: JsonObject.optional().openapi({ description: "Checked against the tool's input schema before the call (422 naming json.arguments.<path>)" }) })
  .strict()
  .openapi("FactoryMcpCallInput");
const CallOutput = z
  .object({
    callLogId: z.uuid(),
    toolId: z.uuid(),
    serverId: z.uuid(),
    tool: z.string(),
    result: JsonObject.openapi({ description: "The tool's CallToolResult: content, structuredContent" }),
    latencyMs: z.int(),
    retryCount: z.int(),
    circuit: z.object({ state: z.enum(["closed", "open", "half_open"]), failCount: z.int() }),
  })
  .openapi("FactoryMcpCallResult");
const CallLog = z
  .object({
    id: z.uuid(),
    workflowInstanceId: z.uuid().nullable(),
    inputData: z.unknown(),
    outputData: z.unknown(),
    success: z.boolean(),
    errorMessage: z.string().nullable(),
    latencyMs: z.int().nullable(),
    retryCount: z.int(),
    traceId: z.string().nullable(),
    createdAt: z.iso.datetime(),
  })
  .openapi("FactoryMcpCallLog");
const CallLogPage = pageOf(CallLog, "FactoryMcpCallLogPage");

const createServer = factoryRoute(
  {
    method: "post",
    path: "/mcp/servers",
    tags,
    summary: "Register an MCP server (§9.2): sse (Streamable HTTP or legacy SSE) or websocket; auth_config sealed",
    permission: "mcp:manage",
    request: { body: jsonBody(ServerInput) },
    responses: { 201: json(McpServer, "Registered") },
  },
  409,
);
const listServers = factoryRoute({
  method: "get",
  path: "/mcp/servers",
  tags,
  summary: "The tenant's MCP servers by name",
  permission: "mcp:read",
  request: { query: z.object(PageQuery) },
  responses: { 200: json(ServerPage, "A page of servers") },
});
const getServer = factoryRoute(
  { method: "get", path: "/mcp/servers/{id}", tags, summary: "An MCP server, with its circuit breaker", permission: "mcp:read", request: { params: IdParam }, responses: { 200: json(McpServer, "The server") } },
  404,
);
const updateServer = factoryRoute(
  {
    method: "patch",
    path: "/mcp/servers/{id}",
    tags,
    summary: "Change an MCP server's name, endpoint, protocol, config or auth_config",
    permission: "mcp:manage",
    request: { params: IdParam, body: jsonBody(ServerPatch) },
    responses: { 200: json(McpServer, "Changed") },
  },
  404,
  409,
);
const deleteServer = factoryRoute(
  {
    method: "delete",
    path: "/mcp/servers/{id}",
    tags,
    summary: "Delete an MCP server with its tools and their call logs",
    permission: "mcp:manage",
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" } },
  },
  404,
);
const discoverTools = factoryRoute(
  {
    method: "post",
    path: "/mcp/servers/{id}/discover",
    tags,
    summary: "List the server's tools (tools/list) into mcp_tools: new ones added, known ones refreshed, vanished ones disabled",
    permission: "mcp:manage",
    request: { params: IdParam },
    responses: { 200: json(Discovery, "The server's tools as now stored"), ...problemResponses(502, 503, 504) },
  },
  404,
);
const listTools = factoryRoute(
  { method: "get", path: "/mcp/servers/{id}/tools", tags, summary: "An MCP server's tools by name", permission: "mcp:read", request: { params: IdParam }, responses: { 200: json(ToolList, "The tools") } },
  404,
);
const updateTool = factoryRoute(
  {
    method: "patch",
    path: "/mcp/tools/{id}",
    tags,
    summary: "Enable or disable an MCP tool",
    permission: "mcp:manage",
    request: { params: IdParam, body: jsonBody(z.object({ isEnabled: z.boolean() }).strict().openapi("FactoryMcpToolPatch")) },
    responses: { 200: json(McpTool, "Changed") },
  },
  404,
);
const callTool = factoryRoute(
  {
    method: "post",
    path: "/mcp/tools/{id}/call",
    tags,
    summary: "Call an MCP tool: arguments checked, timeout and retries per the server's config, circuit breaker, every call logged",
    permission: "mcp:execute",
    request: { params: IdParam, body: jsonBody(CallInput) },
    responses: { 200: json(CallOutput, "The tool's result"), ...problemResponses(502, 503, 504) },
  },
  404,
  409,
);
const listCalls = factoryRoute(
  {
    method: "get",
    path: "/mcp/tools/{id}/calls",
    tags,
    summary: "A tool's call log, newest first",
    permission: "mcp:read",
    request: { params: IdParam, query: z.object(PageQuery) },
    responses: { 200: json(CallLogPage, "A page of calls") },
  },
  404,
);

const byName = keyset([mcpServers.name], "asc");
const newestFirst = keyset([mcpCallLogs.createdAt, mcpCallLogs.id], "desc");
const nameTaken = (name: string) => new ApiError(409, "mcp_server_name_taken", `an MCP server named '${name}' already exists in this tenant`, { name });

const CALL_STATUS: Record<McpCallErrorKind, [number, string]> = {
  not_found: [404, "not_found"],
  tool_disabled: [409, "mcp_tool_disabled"],
  invalid_arguments: [422, "validation_failed"],
  circuit_open: [503, "circuit_open"],
  keys_missing: [503, "mcp_keys_missing"],
  credentials: [502, "mcp_unreachable"],
  timeout: [504, "mcp_timeout"],
  unreachable: [502, "mcp_unreachable"],
  rate_limited: [502, "mcp_rate_limited"],
  refused: [502, "mcp_refused"],
  protocol: [502, "mcp_protocol_error"],
  tool_error: [502, "mcp_tool_error"],
};

/** An McpCallError as the problem a route answers. */
function problemOf(err: McpCallError): ApiError {
  if (err.kind === "invalid_arguments") {
    const problem = fieldErrors(err.faults.map((f) => ({ path: fieldPath("json.arguments", f.pointer), message: f.message })));
    return new ApiError(422, problem.code, problem.detail, { ...problem.extensions, ...err.details });
  }
  const [status, code] = CALL_STATUS[err.kind];
  const headers: Record<string, string> = err.kind === "circuit_open" ? { "Retry-After": String(err.details.retryAfter) } : {};
  return new ApiError(status as 502, code, err.message, err.details, headers);
}

/** auth_config checked and sealed for this row under the current key, or null. */
async function sealedAuthConfig(c: Context<AppEnv>, auth: Record<string, unknown> | null | undefined, tenantId: string, id: string) {
  if (auth === null || auth === undefined) return null;
  const checked = checkedAuth(auth);
  const keys = c.var.config.FACTORY_CONNECTOR_KEYS;
  if (!keys) throw new ApiError(503, "mcp_keys_missing", "the service is misconfigured: FACTORY_CONNECTOR_KEYS is not set, so MCP auth_config cannot be sealed or opened");
  return seal(keys, JSON.stringify(checked), authOwner(tenantId, id));
}

/** The protocol of a registration: stdio (named, or the DDL's default when omitted) is refused. */
function edgeProtocol(protocol: (typeof MCP_PROTOCOLS)[number] | undefined) {
  if (protocol === undefined) throw stdioRefused(true);
  if (protocol === "stdio") throw stdioRefused(false);
  return protocol;
}

/** The route's runFactory as the Runner callMcpTool takes. */
const runnerOf =
  (c: Context<AppEnv>, route: Parameters<typeof runFactory>[1]): Runner =>
  (statements) =>
    runFactory(c, route, statements);

export const mcpRoutes = createRouter()
  .openapi(createServer, async (c) => {
    const { db } = c.var;
    const input = c.req.valid("json");
    const protocol = edgeProtocol(input.protocol);
    const endpoint = checkedEndpoint(protocol, input.endpoint);
    const config = checkedConfig(input.config);
    const tenantId = tenantOf(c.var.principal!);
    const id = crypto.randomUUID();
    const sealed = await sealedAuthConfig(c, input.authConfig, tenantId, id);
    const change = db
      .insert(mcpServers)
      .values({ id, tenantId, name: input.name, endpoint, protocol, config, authConfig: sealedAuth(sealed) })
      .onConflictDoNothing({ target: [mcpServers.tenantId, mcpServers.name] })
      .returning();
    const [created] = await runFactory(c, createServer, [audited(db, userActor(c), { action: "create", resourceType: "mcp_server", table: mcpServers, change })] as const);
    const row = changedRows(mcpServers, created)[0];
    if (!row) throw nameTaken(input.name);
    return c.json(serverOf(row), 201);
  })
  .openapi(listServers, async (c) => {
    const { db } = c.var;
    const q = c.req.valid("query");
    const [rows] = await runFactory(c, listServers, [
      db.select({ ...serverColumns, ...byName.columns }).from(mcpServers).where(byName.after(q.cursor)).orderBy(...byName.orderBy).limit(q.limit + 1),
    ] as const);
    return c.json(byName.page(rows, q.limit), 200);
  })
  .openapi(getServer, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const [rows] = await runFactory(c, getServer, [db.select(serverColumns).from(mcpServers).where(eq(mcpServers.id, id))] as const);
    if (!rows[0]) throw notFound(`MCP server ${id}`);
    return c.json(rows[0], 200);
  })
  .openapi(updateServer, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const patch = c.req.valid("json");
    if (patch.endpoint !== undefined && patch.protocol === undefined) throw fieldError("json.protocol", "required with endpoint: the endpoint is checked against it");
    const protocol = patch.protocol === undefined ? undefined : patch.protocol === "stdio" ? edgeProtocol("stdio") : patch.protocol;
    // A protocol alone must suit the stored endpoint: only where that endpoint is an http(s) URL can it change without one.
    const endpoint = patch.endpoint === undefined ? undefined : checkedEndpoint(protocol!, patch.endpoint);
    const config = patch.config === undefined ? undefined : checkedConfig(patch.config);
    const tenantId = tenantOf(c.var.principal!);
    const sealed = patch.authConfig === undefined ? undefined : await sealedAuthConfig(c, patch.authConfig, tenantId, id);
    // Another endpoint, protocol or credentials is another server to the breaker and the health status.
    const renewed = endpoint !== undefined || protocol !== undefined || sealed !== undefined;
    const reset = renewed ? { circuitBreakerState: "closed" as const, failCount: 0, circuitChangedAt: null, status: "inactive" as const, lastHealthCheckAt: null } : {};
    const where = eq(mcpServers.id, id);
    const taken = patch.name === undefined ? sql`false` : sql`exists (select 1 from ${mcpServers} o where o.name = ${patch.name} and o.id <> ${id}::uuid)`;
    const wsEndpoint = sql`${mcpServers.endpoint} ~* '^wss?:'`;
    const protocolClash = protocol === "sse" && endpoint === undefined ? wsEndpoint : sql`false`;
    const change = db
      .update(mcpServers)
      .set({ name: patch.name, endpoint, protocol, config, ...(sealed === undefined ? {} : { authConfig: sealedAuth(sealed) }), ...reset })
      .where(and(where, sql`not ${taken}`, sql`not ${protocolClash}`))
      .returning();
    const [updated, state] = await runFactory(c, updateServer, [
      audited(db, userActor(c), { action: "update", resourceType: "mcp_server", table: mcpServers, change, where }),
      db.select({ taken: sql<boolean>`${taken}`, clash: sql<boolean>`${protocolClash}` }).from(mcpServers).where(where),
    ] as const);
    const row = changedRows(mcpServers, updated)[0];
    if (row) return c.json(serverOf(row), 200);
    if (!state[0]) throw notFound(`MCP server ${id}`);
    if (state[0].clash) throw fieldError("json.endpoint", "required with protocol sse: the stored endpoint is a ws(s) URL");
    throw nameTaken(patch.name!);
  })
  .openapi(deleteServer, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const where = eq(mcpServers.id, id);
    // Call logs reference tools without ON DELETE CASCADE (the DDL's), so they go first; the tools go with the server.
    const [, deleted] = await runFactory(c, deleteServer, [
      db.delete(mcpCallLogs).where(sql`${mcpCallLogs.mcpToolId} in (select t.id from ${mcpTools} t where t.mcp_server_id = ${id}::uuid)`),
      audited(db, userActor(c), { action: "delete", resourceType: "mcp_server", table: mcpServers, change: db.delete(mcpServers).where(where).returning(), where }),
    ] as const);
    if (!deleted.rows.length) throw notFound(`MCP server ${id}`);
    return c.body(null, 204);
  })
  .openapi(discoverTools, async (c) => {
    const { db, config } = c.var;
    const { id } = c.req.valid("param");
    const [rows] = await runFactory(c, discoverTools, [serverForSession(db, id)] as const);
    const server = rows[0];
    if (!server) throw notFound(`MCP server ${id}`);
    let tools: DiscoveredTool[] | null = null;
    let failure: McpFailure | McpCallError | null = null;
    try {
      const target = targetOf(server, await openAuth(config.FACTORY_CONNECTOR_KEYS, server.tenantId, server.id, server.sealedAuth));
      tools = await withMcpSession(target, async (client, options) => {
        const found: DiscoveredTool[] = [];
        let cursor: string | undefined;
        // Paged by the server; at most 20 pages (a server listing more tools than that is misbehaving).
        for (let page = 0; page < 20; page++) {
          const listed = await client.listTools(cursor ? { cursor } : undefined, options);
          for (const t of listed.tools) found.push({ name: t.name, description: t.description ?? null, inputSchema: t.inputSchema as Record<string, unknown>, outputSchema: (t.outputSchema as Record<string, unknown>) ?? null });
          cursor = listed.nextCursor;
          if (!cursor) break;
        }
        return found;
      });
    } catch (err) {
      if (!(err instanceof McpFailure) && !(err instanceof McpCallError)) throw err;
      failure = err;
    }
    const [changes, stored] = await runFactory(c, discoverTools, [
      writeDiscovery(db, id, tools, failure?.message ?? null),
      db.select().from(mcpTools).where(eq(mcpTools.mcpServerId, id)).orderBy(asc(mcpTools.toolName)),
    ] as const);
    if (failure instanceof McpCallError) throw problemOf(failure);
    if (failure) {
      const [status, code] = failure.kind === "timeout" ? [504, "mcp_timeout"] : [502, `mcp_${failure.kind === "protocol" ? "protocol_error" : failure.kind}`];
      throw new ApiError(status as 502, code, `tools/list on MCP server ${id} failed: ${failure.message}`, { serverId: id, ...(failure.upstreamStatus ? { upstreamStatus: failure.upstreamStatus } : {}) });
    }
    const named = (action: string) => changes.rows.filter((r) => r.action === action).map((r) => r.tool_name);
    return c.json({ added: named("added"), updated: named("updated"), disabled: named("disabled"), tools: stored }, 200);
  })
  .openapi(listTools, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const [server, tools] = await runFactory(c, listTools, [
      db.select({ id: mcpServers.id }).from(mcpServers).where(eq(mcpServers.id, id)),
      db.select().from(mcpTools).where(eq(mcpTools.mcpServerId, id)).orderBy(asc(mcpTools.toolName)),
    ] as const);
    if (!server[0]) throw notFound(`MCP server ${id}`);
    return c.json({ items: tools }, 200);
  })
  .openapi(updateTool, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const { isEnabled } = c.req.valid("json");
    const where = eq(mcpTools.id, id);
    const [updated] = await runFactory(c, updateTool, [
      audited(db, userActor(c), {
        action: "update",
        resourceType: "mcp_tool",
        table: mcpTools,
        change: db.update(mcpTools).set({ isEnabled }).where(where).returning(),
        where,
        tenantId: tenantOf(c.var.principal!),
      }),
    ] as const);
    const row = changedRows(mcpTools, updated)[0];
    if (!row) throw notFound(`MCP tool ${id}`);
    return c.json(row, 200);
  })
  .openapi(callTool, async (c) => {
    const { db, config } = c.var;
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    try {
      const result = await callMcpTool(
        { db, run: runnerOf(c, callTool), keys: config.FACTORY_CONNECTOR_KEYS },
        { tool: { toolId: id }, arguments: input.arguments ?? {}, traceId: requestOrigin(c).traceId },
      );
      return c.json(result as z.infer<typeof CallOutput>, 200);
    } catch (err) {
      if (err instanceof McpCallError) throw problemOf(err);
      throw err;
    }
  })
  .openapi(listCalls, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    const [tool, rows] = await runFactory(c, listCalls, [
      db.select({ id: mcpTools.id }).from(mcpTools).where(eq(mcpTools.id, id)),
      db
        .select({
          id: mcpCallLogs.id,
          workflowInstanceId: mcpCallLogs.workflowInstanceId,
          inputData: mcpCallLogs.inputData,
          outputData: mcpCallLogs.outputData,
          success: mcpCallLogs.success,
          errorMessage: mcpCallLogs.errorMessage,
          latencyMs: mcpCallLogs.latencyMs,
          retryCount: mcpCallLogs.retryCount,
          traceId: mcpCallLogs.traceId,
          createdAt: mcpCallLogs.createdAt,
          ...newestFirst.columns,
        })
        .from(mcpCallLogs)
        .where(and(eq(mcpCallLogs.mcpToolId, id), newestFirst.after(q.cursor)))
        .orderBy(...newestFirst.orderBy)
        .limit(q.limit + 1),
    ] as const);
    if (!tool[0]) throw notFound(`MCP tool ${id}`);
    return c.json(newestFirst.page(rows, q.limit), 200);
  });
