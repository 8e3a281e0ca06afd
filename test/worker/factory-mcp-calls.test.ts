import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { servicePrincipal } from "../../src/platform/auth";
import { runAs } from "../../src/platform/db";
import { expectProblem, roundTrips } from "./helpers";
import { db, seedTenant } from "./factory-helpers";
import { callKept as call, searchForSecrets } from "./factory-connectors-helpers";
import { BASE, control, freshKey, registered, serverBody, stats } from "./factory-mcp-helpers";

searchForSecrets();

const service = servicePrincipal(crypto.randomUUID());

/** The call log rows of a tool, oldest first (test-side, as the service role). */
async function callLogs(toolId: string) {
  const [rows] = await runAs(db, service, [
    db.execute<{ success: boolean; retry_count: number; latency_ms: number; error_message: string | null; trace_id: string | null; output_data: unknown }>(
      sql`select success, retry_count, latency_ms, error_message, trace_id, output_data from factory.mcp_call_logs where mcp_tool_id = ${toolId}::uuid order by created_at`,
    ),
  ] as const);
  return rows.rows;
}

describe("factory MCP: calls, timeouts and retries", () => {
  it("TC-MCP-001: a slow tool times out, is retried, and the log says latency_ms > timeout and retry_count > 0", async () => {
    const { admin } = await seedTenant();
    const key = freshKey();
    await control(key, { slowFirst: 1, slowMs: 3000 });
    const { tools } = await registered(admin, serverBody(key, "streamable_http", { timeout_ms: 600, max_retries: 2, retry_backoff_ms: 50 }));
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const res = await call("POST", `${BASE}/tools/${tools.slow!.id}/call`, { token: admin.bearer, body: { arguments: { label: "x" } }, headers: { traceparent } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ retryCount: 1, result: { content: [{ type: "text", text: "slow x #2" }] } });
    expect(res.body.latencyMs).toBeGreaterThan(600);
    const [log] = await callLogs(tools.slow!.id);
    expect(log).toMatchObject({ success: true, retry_count: 1, trace_id: "4bf92f3577b34da6a3ce929d0e0e4736", error_message: null });
    expect(log!.latency_ms).toBeGreaterThan(600);
    expect((await stats(key)).calls.slow).toBe(2);

    // Slow on every attempt: 504 after 1 + max_retries attempts, logged as a failure with retry_count 2.
    await control(key, { slowFirst: 100 });
    const failed = await call("POST", `${BASE}/tools/${tools.slow!.id}/call`, { token: admin.bearer, body: { arguments: { label: "y" } } });
    expectProblem(failed, 504, "mcp_timeout");
    expect(failed.body).toMatchObject({ retryCount: 2, circuitState: "closed", callLogId: expect.any(String) });
    expect(await roundTrips(failed.requestId)).toEqual({ neon: 2, upstash: expect.any(Number) });
    const logs = await callLogs(tools.slow!.id);
    expect(logs[1]).toMatchObject({ success: false, retry_count: 2, error_message: expect.stringMatching(/^timeout: no answer within 600 ms/) });
    expect(logs[1]!.latency_ms).toBeGreaterThan(3 * 600);

    // usage_count and avg_latency_ms kept per tool.
    const listed = await call("GET", `${BASE}/servers/${tools.slow!.mcpServerId}/tools`, { token: admin.bearer });
    const slow = listed.body.items.find((t: { toolName: string }) => t.toolName === "slow");
    expect(slow).toMatchObject({ usageCount: 2, avgLatencyMs: Math.round((logs[0]!.latency_ms + logs[1]!.latency_ms) / 2) });
  });

  it("checks arguments against the input schema before calling (422 naming json.arguments.<path>, nothing sent, one round trip)", async () => {
    const { admin } = await seedTenant();
    const key = freshKey();
    const { tools } = await registered(admin, serverBody(key, "streamable_json"));
    const before = await stats(key);
    const bad = await call("POST", `${BASE}/tools/${tools.add!.id}/call`, { token: admin.bearer, body: { arguments: { a: "two" } } });
    expectProblem(bad, 422, "validation_failed");
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["json.arguments", "json.arguments.a"]);
    expect(await roundTrips(bad.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });
    expect(await stats(key)).toEqual(before);
    expect(await callLogs(tools.add!.id)).toEqual([]);
  });

  it("a tool that reports an error is a 502 mcp_tool_error, logged as failed, not counted by the breaker; no retry", async () => {
    const { admin } = await seedTenant();
    const key = freshKey();
    const { tools } = await registered(admin, serverBody(key, "legacy_sse"));
    const res = await call("POST", `${BASE}/tools/${tools.fail!.id}/call`, { token: admin.bearer, body: {} });
    expectProblem(res, 502, "mcp_tool_error");
    expect(res.body.detail).toContain("the fail tool failed");
    expect(res.body).toMatchObject({ retryCount: 0, circuitState: "closed" });
    const [log] = await callLogs(tools.fail!.id);
    expect(log).toMatchObject({ success: false, retry_count: 0, error_message: expect.stringContaining("tool_error: ") });
    expect(log!.output_data).toMatchObject({ isError: true });
    const server = await call("GET", `${BASE}/servers/${res.body.serverId}`, { token: admin.bearer });
    expect(server.body).toMatchObject({ circuitBreakerState: "closed", failCount: 0 });
  });

  it("a disabled tool is refused (409) without a call; enabling it again lets calls through; the call log reads newest first", async () => {
    const { admin } = await seedTenant();
    const key = freshKey();
    const { tools } = await registered(admin, serverBody(key, "websocket"));
    const off = await call("PATCH", `${BASE}/tools/${tools.echo!.id}`, { token: admin.bearer, body: { isEnabled: false } });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ isEnabled: false });
    expect(await roundTrips(off.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });
    expectProblem(await call("POST", `${BASE}/tools/${tools.echo!.id}/call`, { token: admin.bearer, body: { arguments: { text: "a" } } }), 409, "mcp_tool_disabled");
    expect((await stats(key)).calls.echo).toBeUndefined();
    expect((await call("PATCH", `${BASE}/tools/${tools.echo!.id}`, { token: admin.bearer, body: { isEnabled: true } })).status).toBe(200);
    for (const text of ["one", "two"]) expect((await call("POST", `${BASE}/tools/${tools.echo!.id}/call`, { token: admin.bearer, body: { arguments: { text } } })).status).toBe(200);
    const page = await call("GET", `${BASE}/tools/${tools.echo!.id}/calls?limit=1`, { token: admin.bearer });
    expect(page.status).toBe(200);
    expect(page.body.items).toMatchObject([{ inputData: { text: "two" }, success: true, retryCount: 0 }]);
    expect(await roundTrips(page.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });
    const next = await call("GET", `${BASE}/tools/${tools.echo!.id}/calls?limit=1&cursor=${page.body.nextCursor}`, { token: admin.bearer });
    expect(next.body.items).toMatchObject([{ inputData: { text: "one" } }]);
  });
});
