import { describe, expect, it } from "vitest";
import type { z } from "@hono/zod-openapi";
import type { Summary } from "../../src/exam/analytics.routes";
import type { MistakeList } from "../../src/exam/mistakes.routes";
import { call, expectProblem, roundTrips, testEnv, token } from "./helpers";
import { deliver, envelope } from "./exam-events-helpers";

const submitted = (userId: string, errorCodes: string[], occurredAt: string, extra: Record<string, unknown> = {}) =>
  envelope("STEP_SUBMITTED", userId, { stepNo: 1, attemptNo: 1, result: "FAIL", score: 10, errorCodes, runtimeMs: 500, mode: "PRACTICE", ...extra }, { occurredAt });

describe("GET /api/v1/exam/mistakes", () => {
  it("lists the caller's error codes, most frequent first, in one round trip", async () => {
    const user = crypto.randomUUID();
    const now = Date.now();
    const at = (s: number) => new Date(now - s * 1000).toISOString();
    await deliver([
      { body: submitted(user, ["E_INDEX", "E_SYNTAX"], at(30)) },
      { body: submitted(user, ["E_INDEX"], at(20)) },
      { body: submitted(user, ["E_INDEX", "E_TYPE"], at(10)) },
      { body: submitted(user, ["E_TYPE"], at(5)) },
      { body: envelope("MISTAKE_DRILL_COMPLETED", user, { taskId: crypto.randomUUID(), mistakeId: crypto.randomUUID(), errorCode: "E_SYNTAX" }, { occurredAt: at(1) }) },
    ]);
    await deliver([{ body: submitted(crypto.randomUUID(), ["E_OTHER_USER"], at(1)) }]);

    const bearer = await token({ sub: user });
    const res = await call<z.infer<typeof MistakeList>>("GET", "/api/v1/exam/mistakes", { token: bearer });
    expect(res.status).toBe(200);
    expect(res.body.items.map((m) => [m.errorCode, m.occurrences])).toEqual([
      ["E_INDEX", 3],
      ["E_TYPE", 2],
      ["E_SYNTAX", 1],
    ]);
    expect(res.body.items[0]).toMatchObject({ drillsCompleted: 0, lastSeenAt: at(10), lastDrilledAt: null });
    expect(res.body.items[0]!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.items[2]).toMatchObject({ drillsCompleted: 1, lastDrilledAt: at(1) });
    expect((await roundTrips(res.requestId)).neon).toBe(1);

    const top = await call<z.infer<typeof MistakeList>>("GET", "/api/v1/exam/mistakes?limit=1", { token: bearer });
    expect(top.body.items.map((m) => m.errorCode)).toEqual(["E_INDEX"]);
  });

  it("is empty for a learner without mistakes, 422 for a bad limit, 401 without a token", async () => {
    const empty = await call("GET", "/api/v1/exam/mistakes", { token: await token() });
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({ items: [] });
    expectProblem(await call("GET", "/api/v1/exam/mistakes?limit=0", { token: await token() }), 422, "validation_failed");
    expectProblem(await call("GET", "/api/v1/exam/mistakes?limit=abc", { token: await token() }), 422, "validation_failed");
    expect((await call("GET", "/api/v1/exam/mistakes")).status).toBe(401);
  });
});

describe("GET /api/v1/exam/analytics/summary", () => {
  it("summarises the sink's metrics per event type for admins, in one round trip", async () => {
    // A window of its own, far from every other test's events.
    const start = Date.UTC(2031, 0, 1) + Math.floor(Math.random() * 1e6) * 60_000;
    const at = (min: number) => new Date(start + min * 60_000).toISOString();
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    const pass = submitted(a, [], at(1), { result: "PASS", score: 100, runtimeMs: 1000 });
    await deliver([
      { body: pass },
      { body: pass },
      { body: submitted(a, ["E1", "E2"], at(2), { result: "FAIL", score: 20, runtimeMs: 3000 }) },
      { body: submitted(b, ["E1"], at(3), { result: "PARTIAL", score: 60, runtimeMs: 2000 }) },
      { body: envelope("SESSION_STARTED", b, { mode: "MOCK", level: "BASIC" }, { occurredAt: at(4) }) },
      { body: envelope("SESSION_FINAL_SUBMITTED", b, { finalScore: 75, mode: "MOCK", level: "BASIC" }, { occurredAt: at(5) }) },
      { body: submitted(b, ["E9"], at(90)) },
    ]);

    const admin = await token({ roles: ["admin"] });
    const res = await call<z.infer<typeof Summary>>("GET", `/api/v1/exam/analytics/summary?from=${at(0)}&to=${at(60)}`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ from: at(0), to: at(60), events: 5, users: 2 });
    expect(res.body.byEventType).toEqual([
      { eventType: "SESSION_FINAL_SUBMITTED", count: 1, users: 1, passRate: null, averageScore: 75, averageRuntimeMs: null, errorCodes: 0 },
      { eventType: "SESSION_STARTED", count: 1, users: 1, passRate: null, averageScore: null, averageRuntimeMs: null, errorCodes: 0 },
      { eventType: "STEP_SUBMITTED", count: 3, users: 2, passRate: 1 / 3, averageScore: 60, averageRuntimeMs: 2000, errorCodes: 3 },
    ]);
    expect((await roundTrips(res.requestId)).neon).toBe(1);

    const empty = await call("GET", `/api/v1/exam/analytics/summary?from=${at(-60)}&to=${at(0)}`, { token: admin });
    expect(empty.body).toMatchObject({ events: 0, users: 0, byEventType: [] });
  });

  it("is 403 for learners and staff without the admin role, 422 for a bad window, 409 when metrics go to Analytics Engine", async () => {
    for (const roles of [[], ["proctor", "reviewer"]]) {
      const res = await call("GET", "/api/v1/exam/analytics/summary", { token: await token({ roles }) });
      expectProblem(res, 403, "forbidden");
      expect((await roundTrips(res.requestId)).neon).toBe(0);
    }
    const admin = await token({ roles: ["admin"] });
    const backwards = await call("GET", "/api/v1/exam/analytics/summary?from=2031-02-01T00:00:00Z&to=2031-01-01T00:00:00Z", { token: admin });
    expectProblem(backwards, 422, "validation_failed");
    expectProblem(await call("GET", "/api/v1/exam/analytics/summary?from=2030-01-01T00:00:00Z&to=2031-01-01T00:00:00Z", { token: admin }), 422, "validation_failed");
    expectProblem(await call("GET", "/api/v1/exam/analytics/summary?from=yesterday", { token: admin }), 422, "validation_failed");

    const bound = await call("GET", "/api/v1/exam/analytics/summary", { token: admin, env: { ...testEnv, ANALYTICS: { writeDataPoint() {} } } as never });
    expectProblem(bound, 409, "analytics_engine_sink");
  });

  it("appears in the OpenAPI document with GET /mistakes", async () => {
    const res = await call("GET", "/openapi.json");
    expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(["/api/v1/exam/mistakes", "/api/v1/exam/analytics/summary"]));
  });
});
