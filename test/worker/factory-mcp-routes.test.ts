import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditLogs, mcpServers } from "../../src/factory/schema";
import { servicePrincipal } from "../../src/platform/auth";
import { runAs } from "../../src/platform/db";
import { expectProblem, roundTrips } from "./helpers";
import { db, seedTenant, seedUser } from "./factory-helpers";
import { callKept as call, searchForSecrets, secret } from "./factory-connectors-helpers";
import { BASE, control, freshKey, mcpToken, registered, serverBody, stats } from "./factory-mcp-helpers";

searchForSecrets();

const service = servicePrincipal(crypto.randomUUID());

describe("factory MCP servers: registration", () => {
  it("registers with defaults applied and auth_config sealed, never returned, audited without it; one round trip", async () => {
    const { tenantId, admin } = await seedTenant();
    const body = serverBody(freshKey(true), "streamable_http");
    const res = await call("POST", `${BASE}/servers`, { token: admin.bearer, body });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      tenantId,
      protocol: "sse",
      status: "inactive",
      circuitBreakerState: "closed",
      failCount: 0,
      hasAuth: true,
      authKeyId: "k2026",
      config: { transport: "streamable_http", timeout_ms: 10000, max_retries: 2, retry_backoff_ms: 200, circuit_breaker: { failure_threshold: 5, cooldown_seconds: 30 } },
    });
    expect(res.body).not.toHaveProperty("authConfig");
    expect(await roundTrips(res.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });
    const [stored, audit] = await runAs(db, service, [
      db.select({ auth: mcpServers.authConfig }).from(mcpServers).where(eq(mcpServers.id, res.body.id)),
      db.select().from(auditLogs).where(and(eq(auditLogs.tenantId, tenantId), eq(auditLogs.resourceId, res.body.id))),
    ] as const);
    expect((stored[0]!.auth as { sealed: string }).sealed).toMatch(/^v1\.k2026\./);
    expect(JSON.stringify(stored[0])).not.toContain(mcpToken);
    expect(audit).toMatchObject([{ action: "create", resourceType: "mcp_server", actorId: admin.userId }]);
    expect(audit[0]!.afterState).not.toHaveProperty("auth_config");
  });

  it("refuses stdio with a 422 saying it cannot run on the edge, also when protocol is omitted (the DDL's default is stdio)", async () => {
    const { admin } = await seedTenant();
    const base = serverBody(freshKey(), "streamable_http");
    const named = await call("POST", `${BASE}/servers`, { token: admin.bearer, body: { ...base, protocol: "stdio" } });
    expectProblem(named, 422, "mcp_protocol_unsupported");
    expect(named.body.detail).toMatch(/cannot run on the edge/);
    expect(named.body.errors).toEqual([{ path: "json.protocol", message: named.body.detail }]);
    const { protocol: _omitted, ...withoutProtocol } = base;
    const omitted = await call("POST", `${BASE}/servers`, { token: admin.bearer, body: withoutProtocol });
    expectProblem(omitted, 422, "mcp_protocol_unsupported");
    expect(omitted.body.detail).toMatch(/default is stdio.*cannot run on the edge/);
    const created = await call("POST", `${BASE}/servers`, { token: admin.bearer, body: base });
    expectProblem(await call("PATCH", `${BASE}/servers/${created.body.id}`, { token: admin.bearer, body: { protocol: "stdio" } }), 422, "mcp_protocol_unsupported");
    expect((await call("GET", `${BASE}/servers`, { token: admin.bearer })).body.items).toHaveLength(1);
  });

  it("names each faulty field: endpoint scheme, config keys and ranges, auth_config; a taken name is a 409", async () => {
    const { admin } = await seedTenant();
    const base = serverBody(freshKey(), "streamable_http");
    const cases: [Record<string, unknown>, string][] = [
      [{ endpoint: "ws://127.0.0.1/ws" }, "json.endpoint"],
      [{ endpoint: "ftp://127.0.0.1/x", protocol: "websocket" }, "json.endpoint"],
      [{ endpoint: "http://user:pw@127.0.0.1/x" }, "json.endpoint"],
      [{ config: { timeout_ms: 10 } }, "json.config.timeout_ms"],
      [{ config: { transport: "carrier_pigeon" } }, "json.config.transport"],
      [{ config: { circuit_breaker: { failure_threshold: 0 } } }, "json.config.circuit_breaker.failure_threshold"],
      [{ config: { surprise: 1 } }, "json.config"],
      [{ authConfig: { bearer_token: "" } }, "json.authConfig.bearer_token"],
      [{ authConfig: {} }, "json.authConfig"],
    ];
    for (const [change, path] of cases) {
      const res = await call("POST", `${BASE}/servers`, { token: admin.bearer, body: { ...base, ...change } });
      expectProblem(res, 422, "validation_failed");
      expect(res.body.errors.map((e: { path: string }) => e.path), JSON.stringify(change)).toContain(path);
    }
    expect((await call("POST", `${BASE}/servers`, { token: admin.bearer, body: base })).status).toBe(201);
    expectProblem(await call("POST", `${BASE}/servers`, { token: admin.bearer, body: base }), 409, "mcp_server_name_taken");
  });

  it("lists, reads, updates (auth_config resealed or removed) and deletes with its tools and call logs; one round trip each", async () => {
    const { tenantId, admin } = await seedTenant();
    const key = freshKey(true);
    const { server, tools } = await registered(admin, serverBody(key, "streamable_json", {}, { name: `a-${crypto.randomUUID()}` }));
    const second = await call("POST", `${BASE}/servers`, { token: admin.bearer, body: serverBody(freshKey(), "websocket", {}, { name: `b-${crypto.randomUUID()}` }) });
    const page = await call("GET", `${BASE}/servers?limit=1`, { token: admin.bearer });
    expect(page.body.items.map((s: { id: string }) => s.id)).toEqual([server.id]);
    expect(await roundTrips(page.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });
    const rest = await call("GET", `${BASE}/servers?limit=1&cursor=${page.body.nextCursor}`, { token: admin.bearer });
    expect(rest.body).toMatchObject({ items: [{ id: second.body.id, hasAuth: false }], nextCursor: null });
    const one = await call("GET", `${BASE}/servers/${server.id}`, { token: admin.bearer });
    expect(one.body).toMatchObject({ id: server.id, status: "active", hasAuth: true });
    expect(one.body.lastHealthCheckAt).toBeTruthy();
    expect(await roundTrips(one.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });

    const renamed = await call("PATCH", `${BASE}/servers/${server.id}`, { token: admin.bearer, body: { name: `a2-${crypto.randomUUID()}`, config: { timeout_ms: 5000 } } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ config: { timeout_ms: 5000, max_retries: 2 }, status: "active", hasAuth: true });
    expect(await roundTrips(renamed.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });
    const resealed = await call("PATCH", `${BASE}/servers/${server.id}`, { token: admin.bearer, body: { authConfig: { bearer_token: secret("mcp-wrong-token") } } });
    expect(resealed.body).toMatchObject({ hasAuth: true, status: "inactive" });
    // The wrong token now goes to the server: refused there (401, not retried).
    const refused = await call("POST", `${BASE}/tools/${tools.echo!.id}/call`, { token: admin.bearer, body: { arguments: { text: "x" } } });
    expectProblem(refused, 502, "mcp_refused");
    expect(refused.body).toMatchObject({ upstreamStatus: 401, retryCount: 0 });
    const removed = await call("PATCH", `${BASE}/servers/${server.id}`, { token: admin.bearer, body: { authConfig: null } });
    expect(removed.body).toMatchObject({ hasAuth: false, authKeyId: null });
    expectProblem(await call("PATCH", `${BASE}/servers/${server.id}`, { token: admin.bearer, body: { endpoint: "http://127.0.0.1:1/x" } }), 422, "validation_failed");
    expectProblem(await call("PATCH", `${BASE}/servers/${server.id}`, { token: admin.bearer, body: { name: second.body.name } }), 409, "mcp_server_name_taken");
    expectProblem(await call("PATCH", `${BASE}/servers/${second.body.id}`, { token: admin.bearer, body: { protocol: "sse" } }), 422, "validation_failed");

    const deleted = await call("DELETE", `${BASE}/servers/${server.id}`, { token: admin.bearer });
    expect(deleted.status).toBe(204);
    expect(await roundTrips(deleted.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });
    expectProblem(await call("GET", `${BASE}/servers/${server.id}`, { token: admin.bearer }), 404, "not_found");
    expectProblem(await call("GET", `${BASE}/tools/${tools.echo!.id}/calls`, { token: admin.bearer }), 404, "not_found");
    const [logs, audit] = await runAs(db, service, [
      db.execute(sql`select count(*)::int as n from factory.mcp_call_logs where mcp_tool_id = ${tools.echo!.id}::uuid`),
      db.select({ action: auditLogs.action, before: auditLogs.beforeState }).from(auditLogs).where(and(eq(auditLogs.tenantId, tenantId), eq(auditLogs.resourceId, server.id))),
    ] as const);
    expect(logs.rows[0]).toEqual({ n: 0 });
    expect(audit.map((a) => a.action).sort()).toEqual(["create", "delete", "update", "update", "update"]);
    expect(JSON.stringify(audit)).not.toContain("sealed");
  });

  it("discovery refreshes known tools, keeps an admin's disabling, and disables tools the server no longer lists; an unreachable server is a 502 and marked error", async () => {
    const { admin } = await seedTenant();
    const { server, tools } = await registered(admin, serverBody(freshKey(), "streamable_http"));
    expect((await call("PATCH", `${BASE}/tools/${tools.add!.id}`, { token: admin.bearer, body: { isEnabled: false } })).status).toBe(200);
    const again = await call("POST", `${BASE}/servers/${server.id}/discover`, { token: admin.bearer });
    expect(again.body).toMatchObject({ added: [], disabled: [] });
    expect(again.body.updated.sort()).toEqual(["add", "echo", "fail", "slow"]);
    expect(again.body.tools.find((t: { toolName: string }) => t.toolName === "add")).toMatchObject({ isEnabled: false });
    expect(await roundTrips(again.requestId)).toEqual({ neon: 2, upstash: expect.any(Number) });

    // The server drops a tool: disabled, kept (its call logs reference it); back again, it stays disabled until enabled by hand.
    const key = (server.endpoint as string).split("/").pop()!;
    await control(key, { hidden: ["slow"] });
    const dropped = await call("POST", `${BASE}/servers/${server.id}/discover`, { token: admin.bearer });
    expect(dropped.body.disabled).toEqual(["slow"]);
    expect(dropped.body.tools.map((t: { toolName: string; isEnabled: boolean }) => [t.toolName, t.isEnabled])).toEqual([["add", false], ["echo", true], ["fail", true], ["slow", false]]);
    expectProblem(await call("POST", `${BASE}/tools/${tools.slow!.id}/call`, { token: admin.bearer, body: { arguments: { label: "x" } } }), 409, "mcp_tool_disabled");

    // The same registration pointed at a server that lists nothing (404 for every key path but /mcp): unreachable, tools kept.
    const dead = await call("PATCH", `${BASE}/servers/${server.id}`, { token: admin.bearer, body: { protocol: "sse", endpoint: "http://127.0.0.1:9/mcp" } });
    expect(dead.status).toBe(200);
    const failed = await call("POST", `${BASE}/servers/${server.id}/discover`, { token: admin.bearer });
    expectProblem(failed, 502, "mcp_unreachable");
    expect((await call("GET", `${BASE}/servers/${server.id}`, { token: admin.bearer })).body).toMatchObject({ status: "error" });
    expect((await call("GET", `${BASE}/servers/${server.id}/tools`, { token: admin.bearer })).body.items).toHaveLength(4);
  });
});

describe("factory MCP: roles, tenants and secrets", () => {
  it("a viewer (mcp:read) reads but cannot manage or call; an operator reaches nothing; another tenant's admin gets 404 everywhere", async () => {
    const { tenantId, admin } = await seedTenant();
    const { server, tools } = await registered(admin, serverBody(freshKey(), "streamable_json"));
    const viewer = await seedUser(tenantId, "viewer");
    const operator = await seedUser(tenantId, "operator");
    const other = await seedTenant();
    expect((await call("GET", `${BASE}/servers/${server.id}`, { token: viewer.bearer })).status).toBe(200);
    expect((await call("GET", `${BASE}/servers/${server.id}/tools`, { token: viewer.bearer })).status).toBe(200);
    const denied = await call("POST", `${BASE}/tools/${tools.echo!.id}/call`, { token: viewer.bearer, body: { arguments: { text: "x" } } });
    expectProblem(denied, 403, "permission_missing");
    expect(denied.body.permission).toBe("mcp:execute");
    expect(await roundTrips(denied.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });
    expectProblem(await call("POST", `${BASE}/servers/${server.id}/discover`, { token: viewer.bearer }), 403, "permission_missing");
    expectProblem(await call("GET", `${BASE}/servers`, { token: operator.bearer }), 403, "permission_missing");

    const routes: [string, string, unknown?][] = [
      ["GET", `/servers/${server.id}`],
      ["PATCH", `/servers/${server.id}`, { name: "mine" }],
      ["DELETE", `/servers/${server.id}`],
      ["POST", `/servers/${server.id}/discover`],
      ["GET", `/servers/${server.id}/tools`],
      ["PATCH", `/tools/${tools.echo!.id}`, { isEnabled: false }],
      ["POST", `/tools/${tools.echo!.id}/call`, { arguments: { text: "x" } }],
      ["GET", `/tools/${tools.echo!.id}/calls`],
    ];
    for (const [method, path, body] of routes) expectProblem(await call(method, `${BASE}${path}`, { token: other.admin.bearer, body }), 404, "not_found");
    expect((await call("GET", `${BASE}/servers`, { token: other.admin.bearer })).body.items).toEqual([]);
    expect((await call("GET", `${BASE}/servers/${server.id}`, { token: admin.bearer })).body.name).toBe(server.name);
  });

  it("the bearer token never appears in responses, call logs, audit rows or error bodies, even when the server echoes it", async () => {
    const { tenantId, admin } = await seedTenant();
    const key = freshKey(true);
    const { tools } = await registered(admin, serverBody(key, "streamable_http", { max_retries: 0, circuit_breaker: { failure_threshold: 100 } }));
    await control(key, { down: true, echoAuth: true });
    const res = await call("POST", `${BASE}/tools/${tools.echo!.id}/call`, { token: admin.bearer, body: { arguments: { text: "x" } } });
    expectProblem(res, 502, "mcp_unreachable");
    expect(res.body.detail).toContain("[redacted]");
    const discovery = await call("POST", `${BASE}/servers/${tools.echo!.mcpServerId}/discover`, { token: admin.bearer });
    expect(discovery.body.detail).toContain("[redacted]");
    expect((await stats(key)).requests).toBeGreaterThan(0);
    const [rows] = await runAs(db, service, [
      db.execute(sql`select (select jsonb_agg(l) from factory.mcp_call_logs l where l.tenant_id = ${tenantId}::uuid) as logs,
                            (select jsonb_agg(a) from factory.audit_logs a where a.tenant_id = ${tenantId}::uuid) as audit`),
    ] as const);
    const text = JSON.stringify(rows.rows);
    expect(text).toContain("[redacted]");
    expect(text).not.toContain(mcpToken);
  });
});

describe("factory MCP: review of misplaced secrets", () => {
  it("refuses an Authorization-like header in config (shown by every read) on register and update, pointing at auth_config; writes nothing", async () => {
    const { admin } = await seedTenant();
    const token = secret("mcp-config-token");
    for (const headers of [{ Authorization: `Bearer ${token}` }, { "X-Auth-Token": token }, { "x-api-key": token }]) {
      const res = await call("POST", `${BASE}/servers`, { token: admin.bearer, body: serverBody(freshKey(), "streamable_http", { headers }) });
      expectProblem(res, 422, "validation_failed");
      expect(res.body.errors).toEqual([{ path: `json.config.headers.${Object.keys(headers)[0]}`, message: expect.stringMatching(/auth_config/) }]);
    }
    expect((await call("GET", `${BASE}/servers`, { token: admin.bearer })).body.items).toEqual([]);
    const created = await call("POST", `${BASE}/servers`, { token: admin.bearer, body: serverBody(freshKey(), "streamable_http", { headers: { "X-Plant": "P1" } }) });
    expect(created.status).toBe(201);
    const patched = await call("PATCH", `${BASE}/servers/${created.body.id}`, { token: admin.bearer, body: { config: { headers: { Authorization: `Bearer ${token}` } } } });
    expectProblem(patched, 422, "validation_failed");
    expect((await call("GET", `${BASE}/servers/${created.body.id}`, { token: admin.bearer })).body.config.headers).toEqual({ "X-Plant": "P1" });
  });
});
