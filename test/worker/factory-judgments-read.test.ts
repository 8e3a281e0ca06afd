import { describe, expect, it } from "vitest";
import { utcDay } from "../../src/platform/daily-quota";
import { judgmentQuotaKey } from "../../src/factory/judgment-execute";
import { seedTenant, seedUser } from "./factory-helpers";
import { DEFECT_RATE_SCRIPT, defectInput, execute, expectCreated, rawRedis, seedRuleset, seedWorkflow } from "./factory-judgments-helpers";
import { call, expectProblem, roundTrips } from "./helpers";

const unique = () => ({ line_code: `L-${crypto.randomUUID()}` });

describe("max_judgments_per_day", () => {
  it("lets exactly N of N + k concurrent judgments through and refuses the rest with 429 until midnight UTC; hits count too", async () => {
    const { admin } = await seedTenant({ maxJudgmentsPerDay: 6 });
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const first = await execute(admin, { inputData: defectInput(0.08, unique()), rulesetId });
    expectCreated(first);
    const results = await Promise.all(Array.from({ length: 9 }, () => execute(admin, { inputData: defectInput(0.08, unique()), rulesetId })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(5);
    const refused = results.filter((r) => r.status !== 201);
    expect(refused).toHaveLength(4);
    const untilMidnight = (utcDay(Date.now()).endsAt - Date.now()) / 1000;
    for (const r of refused) {
      expectProblem(r, 429, "daily_quota_exceeded");
      expect(r.body.limit).toBe(6);
      expect(Math.abs(Number(r.headers.get("Retry-After")) - untilMidnight)).toBeLessThan(10);
    }
    const key = judgmentQuotaKey(admin.tenantId, utcDay(Date.now()).day);
    expect(Number(await rawRedis.get(key))).toBe(10);
    expect(Math.abs((await rawRedis.pttl(key)) - (utcDay(Date.now()).endsAt - Date.now()))).toBeLessThan(10_000);

    // A cache hit is a judgment too: refused once the day is spent, in its one Postgres round trip.
    const hit = await execute(admin, { inputData: first.body.inputData, rulesetId });
    expectProblem(hit, 429, "daily_quota_exceeded");
    expect((await roundTrips(hit.requestId)).neon).toBe(1);
    const listed = await call("GET", "/api/v1/factory/judgments?limit=100", { token: admin.bearer });
    expect(listed.body.items).toHaveLength(6);
    // Another tenant has its own day.
    const other = await seedTenant({ maxJudgmentsPerDay: 6 });
    const otherRules = await seedRuleset(other.admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    expectCreated(await execute(other.admin, { inputData: defectInput(0.08, unique()), rulesetId: otherRules }));
  });
});

describe("GET /judgments and /judgments/{id}", () => {
  it("lists the tenant's judgments newest first with filters and keyset pages, one Postgres round trip each", async () => {
    const { admin } = await seedTenant();
    const viewer = await seedUser(admin.tenantId, "viewer");
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const workflowId = await seedWorkflow(admin);
    const made: { id: string; result: string }[] = [];
    for (const [rate, line] of [[0.08, "L01"], [0.065, "L02"], [0.03, "L01"], [0.09, "L03"]] as const) {
      const r = await execute(admin, { inputData: defectInput(rate, { line_code: line, shift: crypto.randomUUID() }), rulesetId, ...(line === "L02" ? { workflowId } : {}) });
      expectCreated(r);
      made.push({ id: r.body.id, result: r.body.result });
    }
    const ids = (r: { body: { items: { id: string }[] } }) => r.body.items.map((i) => i.id);
    const all = await call("GET", "/api/v1/factory/judgments", { token: viewer.bearer });
    expect(all.status).toBe(200);
    expect(ids(all)).toEqual(made.map((m) => m.id).reverse());
    expect(await roundTrips(all.requestId)).toMatchObject({ neon: 1 });

    const critical = await call("GET", "/api/v1/factory/judgments?result=critical", { token: viewer.bearer });
    expect(ids(critical)).toEqual([made[3]!.id, made[0]!.id]);
    const l01 = await call("GET", `/api/v1/factory/judgments?inputContains=${encodeURIComponent('{"line_code":"L01","metrics":{"defect_rate":0.03}}')}`, { token: viewer.bearer });
    expect(ids(l01)).toEqual([made[2]!.id]);
    const byWorkflow = await call("GET", `/api/v1/factory/judgments?workflowId=${workflowId}`, { token: viewer.bearer });
    expect(ids(byWorkflow)).toEqual([made[1]!.id]);
    const future = await call("GET", `/api/v1/factory/judgments?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, { token: viewer.bearer });
    expect(ids(future)).toEqual([]);
    const past = await call("GET", `/api/v1/factory/judgments?to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}&from=2020-01-01T00:00:00Z`, { token: viewer.bearer });
    expect(ids(past)).toHaveLength(4);

    const page1 = await call("GET", "/api/v1/factory/judgments?limit=3", { token: viewer.bearer });
    expect(ids(page1)).toHaveLength(3);
    const page2 = await call("GET", `/api/v1/factory/judgments?limit=3&cursor=${page1.body.nextCursor}`, { token: viewer.bearer });
    expect([...ids(page1), ...ids(page2)]).toEqual(ids(all));
    expect(page2.body.nextCursor).toBeNull();

    const one = await call("GET", `/api/v1/factory/judgments/${made[0]!.id}`, { token: viewer.bearer });
    expect(one.body).toMatchObject({ id: made[0]!.id, result: "critical" });
    expect(await roundTrips(one.requestId)).toMatchObject({ neon: 1 });
  });

  it("hides other tenants' judgments and names bad filters", async () => {
    const { admin } = await seedTenant();
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const mine = await execute(admin, { inputData: defectInput(0.08, unique()), rulesetId });
    const stranger = await seedTenant();
    expectProblem(await call("GET", `/api/v1/factory/judgments/${mine.body.id}`, { token: stranger.admin.bearer }), 404, "not_found");
    expect((await call("GET", "/api/v1/factory/judgments", { token: stranger.admin.bearer })).body.items).toEqual([]);
    const bad = await call("GET", "/api/v1/factory/judgments?inputContains=%5B1%5D", { token: admin.bearer });
    expectProblem(bad, 422, "validation_failed");
    expect(bad.body.errors[0].path).toBe("query.inputContains");
    const backwards = await call("GET", "/api/v1/factory/judgments?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", { token: admin.bearer });
    expectProblem(backwards, 422, "validation_failed");
    expect(backwards.body.errors[0].path).toBe("query.to");
  });
});

describe("POST /judgments/{id}/feedback (§6.1)", () => {
  it("records an operator's correction of a judgment, refusing what does not fit", async () => {
    const { admin } = await seedTenant();
    const operator = await seedUser(admin.tenantId, "operator");
    const viewer = await seedUser(admin.tenantId, "viewer");
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const judged = await execute(admin, { inputData: defectInput(0.065, unique()), rulesetId });
    const path = `/api/v1/factory/judgments/${judged.body.id}/feedback`;
    const res = await call("POST", path, { token: operator.bearer, body: { feedbackType: "incorrect", rating: 2, comment: "the line was stopped for maintenance", correctedResult: "normal" } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ judgmentExecutionId: judged.body.id, userId: operator.userId, tenantId: admin.tenantId, feedbackType: "incorrect", rating: 2, correctedResult: "normal" });
    expect(await roundTrips(res.requestId)).toMatchObject({ neon: 1 });

    const misfit = await call("POST", path, { token: operator.bearer, body: { feedbackType: "correct", correctedResult: "normal" } });
    expectProblem(misfit, 422, "validation_failed");
    expect(misfit.body.errors[0].path).toBe("json.correctedResult");
    const rating = await call("POST", path, { token: operator.bearer, body: { feedbackType: "helpful", rating: 6 } });
    expectProblem(rating, 422, "validation_failed");
    expect(rating.body.errors[0].path).toBe("json.rating");
    expectProblem(await call("POST", `/api/v1/factory/judgments/${crypto.randomUUID()}/feedback`, { token: operator.bearer, body: { feedbackType: "correct" } }), 404, "not_found");
    const refused = await call("POST", path, { token: viewer.bearer, body: { feedbackType: "correct" } });
    expectProblem(refused, 403, "permission_missing");
    expect(refused.body.permission).toBe("judgment:execute");
    const stranger = await seedTenant();
    expectProblem(await call("POST", path, { token: stranger.admin.bearer, body: { feedbackType: "correct" } }), 404, "not_found");
  });
});
