import { afterEach, describe, expect, it, vi } from "vitest";
import { call, DEAD_ENDPOINT, expectProblem, token } from "./helpers";

describe("rate limiting", () => {
  afterEach(() => vi.restoreAllMocks());

  it("lets exactly N of N+k concurrent requests through and answers the rest with 429", async () => {
    const bearer = await token();
    const env = { RATE_LIMIT_MAX: "5", RATE_LIMIT_WINDOW_SEC: "60" };
    const results = await Promise.all(Array.from({ length: 9 }, () => call("GET", "/api/v1/me", { token: bearer, env })));

    const passed = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    expect(passed).toHaveLength(5);
    expect(limited).toHaveLength(4);
    for (const r of passed) {
      expect(r.headers.get("RateLimit-Limit")).toBe("5");
      expect(Number(r.headers.get("RateLimit-Remaining"))).toBeLessThan(5);
    }
    expect(new Set(passed.map((r) => r.headers.get("RateLimit-Remaining"))).size).toBe(5);
    for (const r of limited) {
      expectProblem(r, 429, "rate_limited");
      expect(r.headers.get("RateLimit-Remaining")).toBe("0");
      expect(Number(r.headers.get("Retry-After"))).toBeGreaterThan(0);
      expect(Number(r.headers.get("Retry-After"))).toBeLessThanOrEqual(60);
    }
  });

  it("keys the limit by user: another user is not limited by the first one's traffic", async () => {
    const env = { RATE_LIMIT_MAX: "2" };
    const first = await token();
    for (let i = 0; i < 3; i++) await call("GET", "/api/v1/me", { token: first, env });
    expect((await call("GET", "/api/v1/me", { token: first, env })).status).toBe(429);
    expect((await call("GET", "/api/v1/me", { token: await token(), env })).status).toBe(200);
  });

  it("keys the limit by tenant and user", async () => {
    const env = { RATE_LIMIT_MAX: "1" };
    const sub = crypto.randomUUID();
    expect((await call("GET", "/api/v1/me", { token: await token({ sub, tenant_id: "a" }), env })).status).toBe(200);
    expect((await call("GET", "/api/v1/me", { token: await token({ sub, tenant_id: "b" }), env })).status).toBe(200);
    expect((await call("GET", "/api/v1/me", { token: await token({ sub, tenant_id: "a" }), env })).status).toBe(429);
  });

  it("fails open when Redis is unreachable, logs it once, and stops trying for a while", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const env = { REDIS_URL: `${DEAD_ENDPOINT}/redis-down-${crypto.randomUUID()}` };
    const bearer = await token();

    const first = await call("GET", "/api/v1/me", { token: bearer, env });
    expect(first.status).toBe(200);
    expect(first.headers.get("RateLimit-Limit")).toBeNull();
    const logged = warn.mock.calls.map((args) => JSON.parse(String(args[0])));
    expect(logged).toEqual([expect.objectContaining({ level: "warn", msg: "redis unavailable; continuing without it", operation: "ratelimit" })]);

    // Within the skip period no further attempt is made, so nothing more is logged.
    for (let i = 0; i < 3; i++) expect((await call("GET", "/api/v1/me", { token: bearer, env })).status).toBe(200);
    expect(warn).toHaveBeenCalledTimes(1);
  });
});
