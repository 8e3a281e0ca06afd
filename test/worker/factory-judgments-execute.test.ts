import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { inputHash } from "../../src/platform/canonical-json";
import { runAs } from "../../src/platform/db";
import { judgmentCache } from "../../src/factory/schema";
import { as, db, seedTenant, seedUser, type FactoryUser } from "./factory-helpers";
import { DEFECT_RATE_SCRIPT, defectInput, execute, expectCreated, rawRedis, seedRuleset, seedWorkflow } from "./factory-judgments-helpers";
import { call, DEAD_ENDPOINT, expectProblem, roundTrips } from "./helpers";

const cacheRow = async (tenantId: string, userId: string, key: string) => {
  const [rows] = await runAs(db, as(tenantId, userId), [db.select().from(judgmentCache).where(eq(judgmentCache.cacheKey, key))] as const);
  return rows[0];
};

/**
 * The platform rate limiter's Redis calls per request, warm (its first call in an isolate also
 * loads its script): a factory read makes no Redis call of its own.
 */
async function limiterCost(user: FactoryUser): Promise<number> {
  await call("GET", "/api/v1/factory/judgments?limit=1", { token: user.bearer });
  const read = await call("GET", "/api/v1/factory/judgments?limit=1", { token: user.bearer });
  expect(read.status).toBe(200);
  const { neon, upstash } = await roundTrips(read.requestId);
  expect(neon).toBe(1);
  return upstash;
}

describe("POST /judgments/execute by rules (rule_only)", () => {
  it("judges §4.1's input by the active §5.2 version, with rule_trace, evidence and the trace id, in 2 Postgres and 2 Redis round trips", async () => {
    const { admin } = await seedTenant();
    const operator = await seedUser(admin.tenantId, "operator");
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const limiter = await limiterCost(operator);
    const res = await execute(operator, { inputData: defectInput(0.08), rulesetId }, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    expectCreated(res);
    const j = res.body;
    expect(j).toMatchObject({ result: "critical", confidence: 1, methodUsed: "rule_only", cacheHit: false, source: "api", traceId, createdBy: operator.userId, tenantId: admin.tenantId });
    expect(j.explanation).toBe("불량률 0.08이 목표치 0.05의 150% 초과");
    expect(j.recommendedActions).toEqual([
      { action_type: "alert", priority: "high", message: "alert_supervisor", auto_execute: false },
      { action_type: "alert", priority: "high", message: "stop_line", auto_execute: false },
    ]);
    expect(j.ruleTrace).toMatchObject({ ruleset_id: rulesetId, ruleset_version: 1, deployment_status: "active", total_rules_evaluated: 1 });
    expect(j.ruleTrace.matched_rules).toEqual([expect.objectContaining({ rule_name: "judge_defect_rate", condition: "defect_rate > target * 1.5", result: "critical", confidence: 1 })]);
    expect(j.ruleTrace.matched_rules[0].rule_id).toMatch(/^L\d+:C\d+$/);
    expect(j.evidence).toEqual({ data_refs: [{ table: "rule_scripts", filter: `ruleset_id='${rulesetId}' AND version=1` }] });
    expect(j.metadata).toMatchObject({ rule_version: 1, deployment_status: "active", input_hash: await inputHash(defectInput(0.08)) });
    expect(j.llmMetadata).toBeNull();
    expect(typeof j.latencyMs).toBe("number");
    expect(await roundTrips(res.requestId)).toEqual({ neon: 2, upstash: limiter + 2 });

    // Either side of each threshold, and the target's default when context has none.
    for (const [rate, result] of [[0.076, "critical"], [0.074, "warning"], [0.061, "warning"], [0.059, "normal"]] as const) {
      const r = await execute(operator, { inputData: defectInput(rate), rulesetId });
      expect(r.body.result, String(rate)).toBe(result);
    }
    const noTarget = await execute(operator, { inputData: defectInput(0.076, {}, null), rulesetId });
    expect(noTarget.body).toMatchObject({ result: "critical", explanation: "불량률 0.076이 목표치 0.05의 150% 초과" });

    const read = await call("GET", `/api/v1/factory/judgments/${j.id}`, { token: operator.bearer });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(j);
  });

  it("mirrors the Redis entry in judgment_cache with the tenant's TTL", async () => {
    const { admin } = await seedTenant({ settings: { judgment_cache_ttl_seconds: 120 } });
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const input = defectInput(0.071, { line_code: `L-${crypto.randomUUID()}` });
    const res = await execute(admin, { inputData: input, rulesetId });
    expectCreated(res);
    const key = `judgment:${rulesetId}.rule_only:${await inputHash(input)}`;
    expect(res.body.cacheKey).toBe(key);
    const ttl = await rawRedis.ttl(key);
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
    const stored = JSON.parse((await rawRedis.get(key)) as string);
    expect(stored).toMatchObject({ tenantId: admin.tenantId, executionId: res.body.id, result: "warning", methodUsed: "rule_only" });
    const mirror = await cacheRow(admin.tenantId, admin.userId, key);
    expect(mirror).toMatchObject({ judgmentExecutionId: res.body.id, result: "warning", confidence: 0.9, ttlSeconds: 120, hitCount: 0, lastHitAt: null, inputHash: await inputHash(input) });
    const lifetime = mirror!.expiresAt.getTime() - mirror!.createdAt.getTime();
    expect(Math.abs(lifetime - 120_000)).toBeLessThan(1000);
  });

  it("TC-JUD-002: a cache hit answers method_used=cache, cache_hit=true, is recorded and counted, in 1 Postgres and 1 Redis round trip", async () => {
    const { admin } = await seedTenant();
    const operator = await seedUser(admin.tenantId, "operator");
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const input = defectInput(0.073, { line_code: `L-${crypto.randomUUID()}` });
    const limiter = await limiterCost(operator);
    const first = await execute(operator, { inputData: input, rulesetId });
    expectCreated(first);
    // The same input with its keys in another order is the same canonical JSON, so the same key.
    const reordered = { context: input.context, metrics: { oee: 0.78, cycle_time_avg: 45.2, production_qty: 1500, defect_rate: 0.073 }, date: input.date, shift: input.shift, line_code: input.line_code };
    const hit = await execute(operator, { inputData: reordered, rulesetId });
    expectCreated(hit);
    expect(hit.body).toMatchObject({
      methodUsed: "cache",
      cacheHit: true,
      cacheKey: first.body.cacheKey,
      result: "warning",
      confidence: 0.9,
      explanation: first.body.explanation,
      recommendedActions: first.body.recommendedActions,
      ruleTrace: first.body.ruleTrace,
      metadata: { cached_judgment_id: first.body.id, cached_method: "rule_only" },
    });
    expect(hit.body.id).not.toBe(first.body.id);
    expect(hit.body.evidence.related_judgments).toEqual([first.body.id]);
    expect(hit.body.latencyMs).toBeLessThan(500);
    expect(await roundTrips(hit.requestId)).toEqual({ neon: 1, upstash: limiter + 1 });

    const again = await execute(operator, { inputData: input, rulesetId });
    expect(again.body.methodUsed).toBe("cache");
    const mirror = await cacheRow(admin.tenantId, admin.userId, first.body.cacheKey);
    expect(mirror).toMatchObject({ hitCount: 2, judgmentExecutionId: first.body.id });
    expect(mirror!.lastHitAt).toBeInstanceOf(Date);

    // Recorded: both hits are judgments of their own.
    const listed = await call("GET", `/api/v1/factory/judgments?methodUsed=cache&inputContains=${encodeURIComponent(JSON.stringify({ line_code: input.line_code }))}`, { token: operator.bearer });
    expect(listed.body.items.map((i: { id: string }) => i.id)).toEqual([again.body.id, hit.body.id]);
  });

  it("keeps cache entries apart by method, and by tenant even for the same key", async () => {
    const { admin } = await seedTenant();
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const input = defectInput(0.066, { line_code: `L-${crypto.randomUUID()}` });
    expectCreated(await execute(admin, { inputData: input, rulesetId }));
    const other = await seedTenant();
    // Another tenant's entry planted under this tenant's key is a miss, never served.
    const key = `judgment:${rulesetId}.hybrid:${await inputHash(input)}`;
    await rawRedis.set(key, JSON.stringify({ tenantId: other.tenantId, executionId: crypto.randomUUID(), methodUsed: "hybrid", result: "normal", confidence: 1, explanation: "planted", recommendedActions: [], ruleTrace: null, llmMetadata: null, evidence: null }), { ex: 60 });
    const hybrid = await execute(admin, { inputData: input, rulesetId, method: "hybrid" });
    expectCreated(hybrid);
    expect(hybrid.body).toMatchObject({ methodUsed: "hybrid", result: "warning" });
  });
});

describe("canary routing and workflows", () => {
  it("runs the canary version for inputs its target filter and percentage take, the active one for the rest, and records which", async () => {
    const { admin } = await seedTenant();
    const v2 = DEFECT_RATE_SCRIPT.replace("target * 1.5", "target * 1.3");
    const rulesetId = await seedRuleset(admin, [
      { version: 1, script: DEFECT_RATE_SCRIPT },
      { version: 2, script: v2, status: "canary", canaryPct: 1, canaryTargetFilter: { line_codes: ["L02"] } },
    ]);
    const l02 = await execute(admin, { inputData: defectInput(0.07, { line_code: "L02", shift: `s-${crypto.randomUUID()}` }), rulesetId });
    expect(l02.body).toMatchObject({ result: "critical", ruleTrace: { ruleset_version: 2, deployment_status: "canary" }, metadata: { rule_version: 2 } });
    const l01 = await execute(admin, { inputData: defectInput(0.07, { shift: `s-${crypto.randomUUID()}` }), rulesetId });
    expect(l01.body).toMatchObject({ result: "warning", ruleTrace: { ruleset_version: 1, deployment_status: "active" }, metadata: { rule_version: 1 } });
  });

  it("judges unknown, saying why, when nothing is deployed or the script fails", async () => {
    const { admin } = await seedTenant();
    const none = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT, status: "draft" }]);
    const r1 = await execute(admin, { inputData: defectInput(0.08), rulesetId: none });
    expect(r1.body).toMatchObject({ result: "unknown", ruleTrace: null });
    expect(r1.body.explanation).toMatch(/has no active or canary deployment/);
    const failing = await seedRuleset(admin, [{ version: 1, script: "fn judge(metrics) { metrics.defect_rate / 0 }" }]);
    const r2 = await execute(admin, { inputData: { metrics: { defect_rate: 3 } }, rulesetId: failing });
    expect(r2.body).toMatchObject({ result: "unknown", ruleTrace: { ruleset_version: 1 } });
    expect(r2.body.ruleTrace.error).toMatch(/version 1 failed/);
  });

  it("scopes the cache by the workflow, then ruleset and method (judgment:{workflow_id}.{ruleset_id}.{method}:{hash}), and refuses another tenant's workflow", async () => {
    const { admin } = await seedTenant();
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const workflowId = await seedWorkflow(admin);
    const input = defectInput(0.05, { line_code: `L-${crypto.randomUUID()}` });
    const res = await execute(admin, { inputData: input, rulesetId, workflowId, source: "workflow" });
    expectCreated(res);
    expect(res.body).toMatchObject({ workflowId, source: "workflow", result: "normal", cacheKey: `judgment:${workflowId}.${rulesetId}.rule_only:${await inputHash(input)}` });
    const stranger = await seedTenant();
    const strangerRules = await seedRuleset(stranger.admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    expectProblem(await execute(stranger.admin, { inputData: input, rulesetId: strangerRules, workflowId }), 404, "not_found");
    expectProblem(await execute(stranger.admin, { inputData: input, rulesetId }), 404, "not_found");
  });
});

describe("bad requests and refusals", () => {
  it("names what is wrong and writes nothing", async () => {
    const { admin } = await seedTenant();
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const missing = await execute(admin, { rulesetId });
    expectProblem(missing, 422, "validation_failed");
    expect(missing.body.errors[0].path).toBe("json.inputData");
    const noRuleset = await execute(admin, { inputData: defectInput(0.08), method: "hybrid" });
    expectProblem(noRuleset, 422, "validation_failed");
    expect(noRuleset.body.errors).toEqual([{ path: "json.rulesetId", message: "hybrid judges by a ruleset: name it" }]);
    expectProblem(await execute(admin, { inputData: defectInput(0.08), rulesetId: crypto.randomUUID() }), 404, "not_found");
    const listed = await call("GET", "/api/v1/factory/judgments", { token: admin.bearer });
    expect(listed.body.items).toEqual([]);
  });

  it("refuses a viewer (judgment:execute) and an unknown user with 403 naming why", async () => {
    const { admin } = await seedTenant();
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const viewer = await seedUser(admin.tenantId, "viewer");
    const refused = await execute(viewer, { inputData: defectInput(0.08, { line_code: `L-${crypto.randomUUID()}` }), rulesetId });
    expectProblem(refused, 403, "permission_missing");
    expect(refused.body.permission).toBe("judgment:execute");
  });

  it("judges without the cache while Redis is down (fail open), still in one write", async () => {
    const { admin } = await seedTenant();
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const env = { REDIS_URL: `${DEAD_ENDPOINT}/judgments-down-${crypto.randomUUID()}` };
    const input = defectInput(0.08, { line_code: `L-${crypto.randomUUID()}` });
    const first = await execute(admin, { inputData: input, rulesetId }, {}, env);
    const second = await execute(admin, { inputData: input, rulesetId }, {}, env);
    for (const r of [first, second]) {
      expectCreated(r);
      expect(r.body).toMatchObject({ methodUsed: "rule_only", result: "critical" });
      expect((await roundTrips(r.requestId)).neon).toBe(2);
    }
  });
});
