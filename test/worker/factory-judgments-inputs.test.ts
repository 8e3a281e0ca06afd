import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { runAs } from "../../src/platform/db";
import { changesJudgmentInputs } from "../../src/factory/inputs-generation";
import { cachedRefusal, generationOf, judgmentInputsKey, readJudgmentInputs, type JudgmentInputs } from "../../src/factory/judgment-inputs";
import { ruleDeployments } from "../../src/factory/schema";
import { as, db, operatorBearer, seedTenant, seedUser, type FactoryUser } from "./factory-helpers";
import { DEFECT_RATE_SCRIPT, defectInput, execute, expectCreated, llmScenario, seedPrompt, seedRuleset } from "./factory-judgments-helpers";
import { call, DEAD_ENDPOINT, expectProblem, roundTrips, testEnv } from "./helpers";
import { loadConfig } from "../../src/platform/config";

const llmOrigin = new URL(loadConfig(testEnv).FACTORY_LLM_BASE_URL ?? "http://unset").origin;

/** An input no other judgment shares, so each request misses the judgment cache. */
const fresh = (rate: number) => defectInput(rate, { line_code: `L-${crypto.randomUUID()}` });
const neonOf = async (requestId: string) => (await roundTrips(requestId)).neon;
const llm = (extra = "result=critical confidence=0.77") => ({ llm_test: llmScenario("gpt-4o=good", extra) });

/** Two judgment-cache misses by the same caller and need: the first reads Postgres (cold), the second its cached inputs (warm). */
async function coldThenWarm(user: FactoryUser, body: Record<string, unknown>, rate: number) {
  const cold = await execute(user, { ...body, inputData: fresh(rate) });
  expectCreated(cold);
  const warm = await execute(user, { ...body, inputData: fresh(rate) });
  expectCreated(warm);
  return { cold, warm };
}

describe("the judgment inputs cache: a miss of the judgment cache in one Postgres round trip", () => {
  it("rule_only: cold 2 round trips, warm 1, same verdict", async () => {
    const { admin } = await seedTenant();
    const operator = await seedUser(admin.tenantId, "operator");
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const { cold, warm } = await coldThenWarm(operator, { rulesetId }, 0.08);
    expect(await neonOf(cold.requestId)).toBe(2);
    expect(await neonOf(warm.requestId)).toBe(1);
    for (const r of [cold, warm]) expect(r.body).toMatchObject({ methodUsed: "rule_only", result: "critical", cacheHit: false, ruleTrace: { ruleset_version: 1 } });
  });

  it("llm_only: cold 2 round trips, warm 1, the prompt read from the cached inputs", async () => {
    const { admin } = await seedTenant();
    const templateId = await seedPrompt(admin);
    const { cold, warm } = await coldThenWarm(admin, { method: "llm_only", promptVariables: llm() }, 0.073);
    expect(await neonOf(cold.requestId)).toBe(2);
    expect(await neonOf(warm.requestId)).toBe(1);
    for (const r of [cold, warm]) expect(r.body).toMatchObject({ methodUsed: "llm_only", result: "critical", llmMetadata: { prompt_template_id: templateId, prompt_version: 1 } });
  });

  it("hybrid: cold 2 round trips, warm 1, the LLM consulted under the tenant's threshold", async () => {
    const { admin } = await seedTenant({ settings: { hybrid_confidence_threshold: 0.95 } });
    await seedPrompt(admin);
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const { cold, warm } = await coldThenWarm(admin, { rulesetId, method: "hybrid", promptVariables: llm("result=critical confidence=0.88") }, 0.065);
    expect(await neonOf(cold.requestId)).toBe(2);
    expect(await neonOf(warm.requestId)).toBe(1);
    for (const r of [cold, warm]) expect(r.body).toMatchObject({ methodUsed: "hybrid", result: "critical", confidence: 0.88, llmMetadata: { consulted: true } });
  });

  it("a deployment change reaches the very next judgment", async () => {
    const { admin } = await seedTenant();
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const { warm } = await coldThenWarm(admin, { rulesetId }, 0.08);
    expect(warm.body.result).toBe("critical");
    const [active] = await runAs(db, as(admin.tenantId, admin.userId), [db.select({ id: ruleDeployments.id }).from(ruleDeployments).where(and(eq(ruleDeployments.rulesetId, rulesetId), eq(ruleDeployments.status, "active")))] as const);
    const retired = await call("POST", `/api/v1/factory/rules/deployments/${active[0]!.id}/deprecate`, { token: admin.bearer });
    expect(retired.status, JSON.stringify(retired.body)).toBe(200);
    const next = await execute(admin, { inputData: fresh(0.08), rulesetId });
    expectCreated(next);
    expect(next.body).toMatchObject({ result: "unknown", ruleTrace: null });
    expect(next.body.explanation).toMatch(/has no active or canary deployment/);
    expect(await neonOf(next.requestId)).toBe(2);
  });

  it("a prompt activation reaches the very next judgment", async () => {
    const { admin } = await seedTenant();
    await seedPrompt(admin);
    const v2 = await seedPrompt(admin, { version: 2, active: false });
    const { warm } = await coldThenWarm(admin, { method: "llm_only", promptVariables: llm() }, 0.073);
    expect(warm.body.llmMetadata.prompt_version).toBe(1);
    const activated = await call("POST", `/api/v1/factory/prompts/${v2}/activate`, { token: admin.bearer });
    expect(activated.status, JSON.stringify(activated.body)).toBe(200);
    const next = await execute(admin, { inputData: fresh(0.073), method: "llm_only", promptVariables: llm() });
    expectCreated(next);
    expect(next.body.llmMetadata).toMatchObject({ prompt_template_id: v2, prompt_version: 2 });
  });

  it("a user lock reaches the very next judgment: 403 user_locked, as factory.authorize() says it, before any LLM call", async () => {
    const { admin } = await seedTenant();
    const operator = await seedUser(admin.tenantId, "operator");
    await seedPrompt(admin);
    await coldThenWarm(operator, { method: "llm_only", promptVariables: llm() }, 0.073);
    const locked = await call("POST", `/api/v1/factory/users/${operator.userId}/lock`, { token: admin.bearer });
    expect(locked.status, JSON.stringify(locked.body)).toBe(200);
    const scenario = crypto.randomUUID();
    const refused = await execute(operator, { inputData: fresh(0.073), method: "llm_only", promptVariables: { llm_test: `[[llm-test id=${scenario} gpt-4o=good]]` } });
    expectProblem(refused, 403, "user_locked");
    expect(refused.body.detail).toMatch(/ is locked$/);
    const asked = await fetch(`${llmOrigin}/__calls?scenario=${scenario}`);
    expect(await asked.json()).toEqual([]);
  });

  it("a tenant settings change reaches the very next judgment (the hybrid threshold)", async () => {
    const { admin } = await seedTenant({ settings: { hybrid_confidence_threshold: 0.95 } });
    await seedPrompt(admin);
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const body = { rulesetId, method: "hybrid", promptVariables: llm("result=critical confidence=0.88") };
    const { warm } = await coldThenWarm(admin, body, 0.065);
    expect(warm.body.llmMetadata.consulted).toBe(true);
    const changed = await call("PATCH", "/api/v1/factory/tenant", { token: admin.bearer, body: { settings: { hybrid_confidence_threshold: 0.5 } } });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    const next = await execute(admin, { ...body, inputData: fresh(0.065) });
    expectCreated(next);
    expect(next.body).toMatchObject({ result: "warning", confidence: 0.9, llmMetadata: { consulted: false } });
  });

  it("a tenant suspension by the platform operator reaches the very next judgment", async () => {
    const { admin } = await seedTenant();
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    await coldThenWarm(admin, { rulesetId }, 0.08);
    const suspended = await call("POST", `/api/v1/factory/platform/tenants/${admin.tenantId}/suspend`, { token: await operatorBearer() });
    expect(suspended.status, JSON.stringify(suspended.body)).toBe(200);
    expectProblem(await execute(admin, { inputData: fresh(0.08), rulesetId }), 403, "tenant_suspended");
  });

  it("a judgment or its feedback leaves the cached inputs warm", async () => {
    const { admin } = await seedTenant();
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const { warm } = await coldThenWarm(admin, { rulesetId }, 0.08);
    const feedback = await call("POST", `/api/v1/factory/judgments/${warm.body.id}/feedback`, { token: admin.bearer, body: { feedbackType: "correct" } });
    expect(feedback.status, JSON.stringify(feedback.body)).toBe(201);
    const next = await execute(admin, { inputData: fresh(0.08), rulesetId });
    expectCreated(next);
    expect(await neonOf(next.requestId)).toBe(1);
  });

  it("Redis down: every miss reads Postgres, 2 round trips", async () => {
    const { admin } = await seedTenant();
    await seedPrompt(admin);
    const env = { REDIS_URL: `${DEAD_ENDPOINT}/inputs-down-${crypto.randomUUID()}` };
    for (let i = 0; i < 2; i++) {
      const r = await execute(admin, { inputData: fresh(0.073), method: "llm_only", promptVariables: llm() }, {}, env);
      expectCreated(r);
      expect(await neonOf(r.requestId)).toBe(2);
    }
  });
});

describe("judgment-inputs.ts", () => {
  const entry = (over: Partial<JudgmentInputs> = {}): JudgmentInputs => ({
    generation: 3,
    tenantId: "t1",
    userId: "u1",
    tenant: { name: "acme", status: "active", limit: 10, settings: {} },
    user: { username: "kim", status: "active", role: "operator", permissions: [], groups: null },
    workflowFound: false,
    ruleset: null,
    deployments: [],
    prompts: [],
    ...over,
  });
  const current = { tenantId: "t1", userId: "u1", generation: 3 };

  it("cachedRefusal: refuses as factory.caller_refusal() does, in its order, else null", () => {
    expect(cachedRefusal(entry(), "judgment:execute")).toBeNull();
    const suspended = cachedRefusal(entry({ tenant: { ...entry().tenant, status: "suspended" }, user: { ...entry().user, status: "locked" } }), "judgment:execute");
    expect(suspended).toMatchObject({ status: 403, code: "tenant_suspended", detail: "tenant acme is suspended" });
    expect(cachedRefusal(entry({ user: { ...entry().user, status: "locked" } }), "judgment:execute")).toMatchObject({ status: 403, code: "user_locked", detail: "user kim is locked" });
    const viewer = cachedRefusal(entry({ user: { ...entry().user, role: "viewer" } }), "judgment:execute");
    expect(viewer).toMatchObject({ status: 403, code: "permission_missing", detail: "the judgment:execute permission is required (role viewer does not grant it)" });
    expect(viewer!.extensions).toEqual({ reason: "permission_missing", permission: "judgment:execute" });
    expect(cachedRefusal(entry({ user: { ...entry().user, role: "viewer", permissions: ["judgment:*"] } }), "judgment:execute")).toBeNull();
  });

  it("readJudgmentInputs: only this caller's entry of the current generation, with dates revived", () => {
    const prompt = { updatedAt: "2026-01-02T03:04:05.000Z" } as unknown as JudgmentInputs["prompts"][number];
    const read = readJudgmentInputs(JSON.stringify(entry({ prompts: [prompt] })), current);
    expect(read!.prompts[0]!.updatedAt).toEqual(new Date("2026-01-02T03:04:05.000Z"));
    expect(readJudgmentInputs(entry(), current)).toMatchObject({ tenantId: "t1", generation: 3 });
    expect(readJudgmentInputs(entry(), { ...current, generation: 4 })).toBeNull();
    expect(readJudgmentInputs(entry(), { ...current, userId: "u2" })).toBeNull();
    expect(readJudgmentInputs(entry(), { ...current, tenantId: "t2" })).toBeNull();
    expect(readJudgmentInputs("{not json", current)).toBeNull();
    expect(readJudgmentInputs(null, current)).toBeNull();
    expect(generationOf(null)).toBe(0);
    expect(generationOf("7")).toBe(7);
  });

  it("changesJudgmentInputs: every non-read permission but the judgment routes' own", () => {
    expect(changesJudgmentInputs("deployment:deprecate")).toBe(true);
    expect(changesJudgmentInputs("prompt:deploy")).toBe(true);
    expect(changesJudgmentInputs("user:write")).toBe(true);
    expect(changesJudgmentInputs("tenant:write")).toBe(true);
    expect(changesJudgmentInputs("rule:read")).toBe(false);
    expect(changesJudgmentInputs("judgment:execute")).toBe(false);
    expect(changesJudgmentInputs(null)).toBe(false);
    expect(judgmentInputsKey("t", "u", { prompts: true })).not.toBe(judgmentInputsKey("t", "u", { prompts: false }));
  });
});
