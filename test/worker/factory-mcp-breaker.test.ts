import { describe, expect, it } from "vitest";
import { expectProblem, roundTrips } from "./helpers";
import { seedTenant } from "./factory-helpers";
import { callKept as call, searchForSecrets } from "./factory-connectors-helpers";
import { BASE, control, freshKey, registered, serverBody, stats } from "./factory-mcp-helpers";

searchForSecrets();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("factory MCP: the circuit breaker per server (closed → open → half_open → closed)", () => {
  it("opens after N failed calls, refuses without calling (503 circuit_open), lets one trial through after the cool-down, closes on its success", async () => {
    const { admin } = await seedTenant();
    const key = freshKey();
    const { server, tools } = await registered(admin, serverBody(key, "streamable_http", { max_retries: 1, retry_backoff_ms: 10, circuit_breaker: { failure_threshold: 3, cooldown_seconds: 1 } }));
    const echo = (text: string) => call("POST", `${BASE}/tools/${tools.echo!.id}/call`, { token: admin.bearer, body: { arguments: { text } } });
    const breaker = async () => (await call("GET", `${BASE}/servers/${server.id}`, { token: admin.bearer })).body;

    await control(key, { down: true });
    for (const n of [1, 2]) {
      const res = await echo(`f${n}`);
      expectProblem(res, 502, "mcp_unreachable");
      expect(res.body).toMatchObject({ upstreamStatus: 503, retryCount: 1, circuitState: "closed" });
      expect(await breaker()).toMatchObject({ circuitBreakerState: "closed", failCount: n });
    }
    const third = await echo("f3");
    expectProblem(third, 502, "mcp_unreachable");
    expect(third.body.circuitState).toBe("open");
    expect(await breaker()).toMatchObject({ circuitBreakerState: "open", failCount: 3, status: "error" });

    // Open: refused without contacting the server, in one round trip, with Retry-After.
    const seen = (await stats(key)).requests;
    const refused = await echo("while open");
    expectProblem(refused, 503, "circuit_open");
    expect(refused.body).toMatchObject({ serverId: server.id, circuitState: "open", failCount: 3 });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await roundTrips(refused.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });
    expect((await stats(key)).requests).toBe(seen);

    // After the cool-down the next call is the half-open trial; it fails, so the breaker opens again.
    await sleep(1_100);
    const trial = await echo("trial 1");
    expectProblem(trial, 502, "mcp_unreachable");
    expect(trial.body.circuitState).toBe("open");
    expect((await stats(key)).requests).toBeGreaterThan(seen);
    expectProblem(await echo("open again"), 503, "circuit_open");

    // The server recovers; after the cool-down the trial succeeds and closes the breaker.
    await control(key, { down: false });
    await sleep(1_100);
    const ok = await echo("trial 2");
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.circuit).toEqual({ state: "closed", failCount: 0 });
    expect(await breaker()).toMatchObject({ circuitBreakerState: "closed", failCount: 0, status: "active" });
    expect((await echo("closed")).status).toBe(200);
  });

  it("half_open lets exactly one of several concurrent calls through as the trial; the others are refused", async () => {
    const { admin } = await seedTenant();
    const key = freshKey();
    const { server, tools } = await registered(admin, serverBody(key, "streamable_json", { max_retries: 0, circuit_breaker: { failure_threshold: 1, cooldown_seconds: 1 } }));
    await control(key, { down: true });
    expectProblem(await call("POST", `${BASE}/tools/${tools.echo!.id}/call`, { token: admin.bearer, body: { arguments: { text: "x" } } }), 502, "mcp_unreachable");
    expect((await call("GET", `${BASE}/servers/${server.id}`, { token: admin.bearer })).body.circuitBreakerState).toBe("open");
    // The trial is slow, so the others arrive while it is in flight.
    await control(key, { down: false, slowFirst: 1, slowMs: 700 });
    await sleep(1_100);
    const results = await Promise.all(Array.from({ length: 4 }, (_, i) => call("POST", `${BASE}/tools/${tools.slow!.id}/call`, { token: admin.bearer, body: { arguments: { label: `c${i}` } } })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 503, 503, 503]);
    expect((await stats(key)).calls.slow).toBe(1);
    expect((await call("GET", `${BASE}/servers/${server.id}`, { token: admin.bearer })).body).toMatchObject({ circuitBreakerState: "closed", failCount: 0 });
  });

  it("a tool that reports an error does not count; a changed endpoint resets the breaker", async () => {
    const { admin } = await seedTenant();
    const key = freshKey();
    const { server, tools } = await registered(admin, serverBody(key, "websocket", { max_retries: 0, circuit_breaker: { failure_threshold: 1, cooldown_seconds: 60 } }));
    expectProblem(await call("POST", `${BASE}/tools/${tools.fail!.id}/call`, { token: admin.bearer, body: {} }), 502, "mcp_tool_error");
    expect((await call("GET", `${BASE}/servers/${server.id}`, { token: admin.bearer })).body).toMatchObject({ circuitBreakerState: "closed", failCount: 0 });
    await control(key, { down: true });
    expectProblem(await call("POST", `${BASE}/tools/${tools.echo!.id}/call`, { token: admin.bearer, body: { arguments: { text: "x" } } }), 502, "mcp_unreachable");
    expect((await call("GET", `${BASE}/servers/${server.id}`, { token: admin.bearer })).body.circuitBreakerState).toBe("open");
    const moved = freshKey();
    const patched = await call("PATCH", `${BASE}/servers/${server.id}`, { token: admin.bearer, body: { protocol: "websocket", endpoint: serverBody(moved, "websocket").endpoint } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({ circuitBreakerState: "closed", failCount: 0, status: "inactive", circuitChangedAt: null });
  });
});
