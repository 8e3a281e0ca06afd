import { afterEach, describe, expect, it, vi } from "vitest";
import { call, callTimeline, DEAD_ENDPOINT, expectProblem, injectLatency, roundTrips, token, type StackCall } from "./helpers";

const profile = { level: "ASSOCIATE", examDate: "2027-03-14", targetType: "HIGH_SCORE" };

/**
 * A request id whose Postgres and Redis calls each wait 200 ms at the local endpoints: calls
 * that the Worker makes side by side are then certainly in flight together, and calls it makes
 * one after the other certainly are not. Nothing here reads a clock; only the order counts.
 */
async function slowRequestId(): Promise<string> {
  const id = `test-slow-${crypto.randomUUID()}`;
  await injectLatency(id, { neon: 200, upstash: 200 });
  return id;
}

const isLimiter = (c: StackCall) => c.protocol === "upstash" && /^eval/.test(c.command);
const byStart = (calls: StackCall[]) => [...calls].sort((a, b) => a.start - b.start);

describe("rate limit beside the handler", () => {
  afterEach(() => vi.restoreAllMocks());

  it("lets a cached read wait for one Redis round trip: the rate-limit call and the cache read are in flight together", async () => {
    const bearer = await token();
    expect((await call("PUT", "/api/v1/exam/profile", { token: bearer, body: profile })).status).toBe(201);
    expect((await call("GET", "/api/v1/exam/profile", { token: bearer })).status).toBe(200); // fills the cache

    const id = await slowRequestId();
    const hit = await call("GET", "/api/v1/exam/profile", { token: bearer, headers: { "X-Request-Id": id } });
    expect(hit.status).toBe(200);
    expect(hit.body).toMatchObject({ ...profile });
    expect(hit.headers.get("RateLimit-Limit")).toBe("1000");
    expect(await roundTrips(id)).toEqual({ neon: 0, upstash: 2 });

    const { maxInFlight, calls } = await callTimeline(id);
    expect(calls.map((c) => c.command).sort()).toEqual([expect.stringMatching(/^eval/), "get"]);
    expect(maxInFlight).toBe(2);
  });

  it("lets a read that goes to Postgres run its query while the rate limit is decided", async () => {
    const id = await slowRequestId();
    const listed = await call("GET", "/api/v1/exam/sessions", { token: await token(), headers: { "X-Request-Id": id } });
    expect(listed.status).toBe(200);
    expect(await roundTrips(id)).toEqual({ neon: 1, upstash: 1 });
    expect((await callTimeline(id)).maxInFlight).toBe(2);
  });

  it("keeps a write waiting: its rate-limit call is answered before its Postgres call starts", async () => {
    const id = await slowRequestId();
    const written = await call("PUT", "/api/v1/exam/profile", { token: await token(), body: profile, headers: { "X-Request-Id": id } });
    expect(written.status).toBe(201);

    const { maxInFlight, calls } = await callTimeline(id);
    const [limit, write, invalidate] = byStart(calls);
    expect(isLimiter(limit!)).toBe(true);
    expect(write).toMatchObject({ protocol: "neon", command: "batch" });
    expect(limit!.end).toBeLessThan(write!.start);
    expect(invalidate).toMatchObject({ protocol: "upstash", command: "del" });
    expect(write!.end).toBeLessThan(invalidate!.start);
    expect(maxInFlight).toBe(1);
  });

  it("answers a refused read exactly as a refused write: the 429 problem and its headers, none of the handler's answer", async () => {
    const env = { RATE_LIMIT_MAX: "1" };
    const refusedRead = async () => {
      const bearer = await token();
      expect((await call("PUT", "/api/v1/exam/profile", { token: bearer, body: profile, env })).status).toBe(201);
      return call("GET", "/api/v1/exam/profile", { token: bearer, env });
    };
    const refusedWrite = async () => {
      const bearer = await token();
      expect((await call("GET", "/api/v1/me", { token: bearer, env })).status).toBe(200);
      return call("PUT", "/api/v1/exam/profile", { token: bearer, body: profile, env });
    };

    const [read, write] = [await refusedRead(), await refusedWrite()];
    for (const refused of [read, write]) {
      expectProblem(refused, 429, "rate_limited");
      expect(refused.body).toEqual({
        type: "https://errors.edge-api.dev/rate_limited",
        title: "Too Many Requests",
        status: 429,
        detail: "more than 1 requests in 60 s",
        code: "rate_limited",
        requestId: refused.requestId,
      });
      expect(refused.headers.get("RateLimit-Limit")).toBe("1");
      expect(refused.headers.get("RateLimit-Remaining")).toBe("0");
      expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
      expect(refused.headers.get("Retry-After")).toBe(refused.headers.get("RateLimit-Reset"));
    }
    expect([...read.headers.keys()].sort()).toEqual([...write.headers.keys()].sort());
  });

  it.each([
    ["a resource its handler would not find (404)", `/api/v1/exam/sessions/${crypto.randomUUID()}`],
    ["a query its handler would refuse (422)", "/api/v1/exam/sessions?limit=0"],
    ["a path no route serves (404)", "/api/v1/exam/no-such-thing"],
    ["a path served only to other methods (405)", `/api/v1/exam/sessions/${crypto.randomUUID()}/start`],
  ])("refuses a read of %s with 429, as before the handler ran", async (_, path) => {
    const env = { RATE_LIMIT_MAX: "1" };
    const bearer = await token();
    expect((await call("GET", "/api/v1/me", { token: bearer, env })).status).toBe(200);
    const refused = await call("GET", path, { token: bearer, env });
    expectProblem(refused, 429, "rate_limited");
    expect(refused.headers.get("Allow")).toBeNull();
  });

  it("refuses a caller this isolate already knows to be over the limit before the handler runs", async () => {
    const env = { RATE_LIMIT_MAX: "1" };
    const bearer = await token();
    expect((await call("PUT", "/api/v1/exam/profile", { token: bearer, body: profile, env })).status).toBe(201);
    expectProblem(await call("GET", "/api/v1/exam/profile", { token: bearer, env }), 429, "rate_limited");

    const again = await call("GET", "/api/v1/exam/profile", { token: bearer, env });
    expectProblem(again, 429, "rate_limited");
    expect(await roundTrips(again.requestId)).toEqual({ neon: 0, upstash: 0 });
  });

  it("fails open for a read when Redis is down: served from Postgres, one line logged for both failed calls", async () => {
    const bearer = await token();
    const created = await call("PUT", "/api/v1/exam/profile", { token: bearer, body: profile });
    expect(created.status).toBe(201);

    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const env = { REDIS_URL: `${DEAD_ENDPOINT}/redis-down-${crypto.randomUUID()}` };
    const read = await call("GET", "/api/v1/exam/profile", { token: bearer, env });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    expect(read.headers.get("RateLimit-Limit")).toBeNull();
    expect(await roundTrips(read.requestId)).toEqual({ neon: 1, upstash: 0 });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(JSON.parse(String(warn.mock.calls[0]![0]))).toMatchObject({ level: "warn", msg: "redis unavailable; continuing without it" });
  });
});
