import { asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { runAs } from "../../src/platform/db";
import { judgmentExecutions, llmCalls } from "../../src/factory/schema";
import { as, db, seedTenant, type FactoryUser } from "./factory-helpers";
import { DEFECT_RATE_SCRIPT, defectInput, execute, expectCreated, llmScenario, seedPrompt, seedRuleset } from "./factory-judgments-helpers";
import { expectProblem, roundTrips } from "./helpers";

const callsOf = async (user: FactoryUser, judgmentId: string) => {
  const [rows] = await runAs(db, as(user.tenantId, user.userId), [db.select().from(llmCalls).where(eq(llmCalls.judgmentExecutionId, judgmentId)).orderBy(asc(llmCalls.createdAt))] as const);
  return rows;
};
const unique = () => ({ line_code: `L-${crypto.randomUUID()}` });

describe("POST /judgments/execute by the LLM (llm_only)", () => {
  it("renders the tenant's active judgment prompt, records the call with tokens and cost, in 2 Postgres round trips", async () => {
    const { admin } = await seedTenant();
    const templateId = await seedPrompt(admin);
    const res = await execute(admin, { inputData: defectInput(0.073, unique()), method: "llm_only", promptVariables: { llm_test: llmScenario("gpt-4o=good", "result=critical confidence=0.77") } });
    expectCreated(res);
    expect(res.body).toMatchObject({ methodUsed: "llm_only", result: "critical", confidence: 0.77, ruleTrace: null, explanation: "Defect rate is above target (answered by gpt-4o)." });
    expect(res.body.recommendedActions).toEqual([{ action_type: "alert", priority: "high", target: "shift_supervisor", message: "Check line L01 now", auto_execute: true }]);
    expect(res.body.evidence).toMatchObject({ data_refs: [{ table: "fact_daily_defect", filter: "line='L01'" }], urls: ["https://bi-dashboard/defect-trend/L01"] });
    expect(res.body.llmMetadata).toMatchObject({ consulted: true, status: "ok", model: "gpt-4o", prompt_template_id: templateId, prompt_name: "defect_judgment", prompt_version: 1, ab_group: "control", locale: "ko-KR", validation_passed: true, retry_count: 0, fallback_used: false, calls: 1, reasoning_trace: "defect_rate 0.073 > target 0.05" });
    expect(res.body.llmMetadata.total_tokens).toBeGreaterThan(0);
    expect(await roundTrips(res.requestId)).toMatchObject({ neon: 2 });
    const calls = await callsOf(admin, res.body.id);
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call).toMatchObject({ callType: "judgment", model: "gpt-4o", promptTemplateId: templateId, success: true, validationError: false, traceId: res.body.traceId, tenantId: admin.tenantId });
    expect(call.promptTokens).toBeGreaterThan(0);
    expect(call.totalTokens).toBe(call.promptTokens + call.completionTokens);
    // gpt-4o: $2.50 in, $10 out per million tokens.
    expect(Number(call.costEstimateUsd)).toBeCloseTo((call.promptTokens * 2.5 + call.completionTokens * 10) / 1e6, 6);
    expect(call.promptSummary).toContain("defect rate 0.073");
  });

  it("retries an invalid answer once, then stores unknown with validation_error on both calls, and caches nothing", async () => {
    const { admin } = await seedTenant();
    await seedPrompt(admin);
    const body = { inputData: defectInput(0.073, unique()), method: "llm_only", promptVariables: { llm_test: llmScenario("gpt-4o=bad_schema,not_json") } };
    const res = await execute(admin, body);
    expectCreated(res);
    expect(res.body).toMatchObject({ result: "unknown", confidence: null, cacheKey: null, llmMetadata: { status: "validation_error", validation_passed: false, retry_count: 1, calls: 2 } });
    expect(res.body.explanation).toMatch(/^the LLM's answers failed the judgment schema: /);
    const calls = await callsOf(admin, res.body.id);
    expect(calls.map((c) => [c.success, c.validationError])).toEqual([
      [false, true],
      [false, true],
    ]);
    const again = await execute(admin, body);
    expect(again.body.methodUsed).toBe("llm_only");
  });

  it("falls back to the fallback model when the model is too slow (timeout)", async () => {
    const { admin } = await seedTenant();
    await seedPrompt(admin);
    const res = await execute(admin, { inputData: defectInput(0.073, unique()), method: "llm_only", promptVariables: { llm_test: llmScenario("gpt-4o=slow gpt-4o-mini=good", "delay=4000") } });
    expectCreated(res);
    expect(res.body).toMatchObject({ result: "warning", llmMetadata: { status: "ok", model: "gpt-4o-mini", fallback_used: true, calls: 2 } });
    const calls = await callsOf(admin, res.body.id);
    expect(calls.map((c) => [c.model, c.success])).toEqual([
      ["gpt-4o", false],
      ["gpt-4o-mini", true],
    ]);
    expect(calls[0]!.errorMessage).toMatch(/^timed out after \d+ ms$/);
  });

  it("stores unknown with the error when every model fails, never the provider's text", async () => {
    const { admin } = await seedTenant();
    await seedPrompt(admin);
    const res = await execute(admin, { inputData: defectInput(0.073, unique()), method: "llm_only", promptVariables: { llm_test: llmScenario("gpt-4o=http_500 gpt-4o-mini=http_503") } });
    expectCreated(res);
    expect(res.body).toMatchObject({ result: "unknown", cacheKey: null, llmMetadata: { status: "llm_error" } });
    expect(res.body.explanation).toMatch(/^the LLM gave no answer: HTTP 503 from the LLM endpoint/);
    expect((await callsOf(admin, res.body.id)).map((c) => c.success)).toEqual([false, false]);
  });

  it("refuses a missing required prompt variable (422 naming it) and a tenant without a judgment prompt (409), writing nothing", async () => {
    const { admin } = await seedTenant();
    const noPrompt = await execute(admin, { inputData: defectInput(0.073), method: "llm_only" });
    expectProblem(noPrompt, 409, "no_judgment_prompt");
    await seedPrompt(admin);
    const missing = await execute(admin, { inputData: defectInput(0.073), method: "llm_only" });
    expectProblem(missing, 422, "validation_failed");
    expect(missing.body.errors[0].path).toBe("json.promptVariables.llm_test");
    expect(missing.body.errors[0].message).toMatch(/missing required variable llm_test \(prompt template defect_judgment version 1\)/);
    const [rows] = await runAs(db, as(admin.tenantId, admin.userId), [db.select({ id: judgmentExecutions.id }).from(judgmentExecutions)] as const);
    expect(rows).toEqual([]);
  });
});

describe("hybrid judgments", () => {
  it("TC-JUD-001: rules first, the LLM when their confidence is below the tenant's threshold; rule_trace and llm_metadata both present", async () => {
    const { admin } = await seedTenant({ settings: { hybrid_confidence_threshold: 0.95 } });
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    await seedPrompt(admin);
    const res = await execute(admin, { inputData: defectInput(0.065, unique()), rulesetId, method: "hybrid", promptVariables: { llm_test: llmScenario("gpt-4o=good", "result=critical confidence=0.88") } });
    expectCreated(res);
    expect(res.body).toMatchObject({ methodUsed: "hybrid", result: "critical", confidence: 0.88 });
    expect(await roundTrips(res.requestId)).toMatchObject({ neon: 2 });
    expect(res.body.ruleTrace).toMatchObject({ ruleset_id: rulesetId, ruleset_version: 1, matched_rules: [expect.objectContaining({ condition: "defect_rate > target * 1.2", result: "warning", confidence: 0.9 })] });
    expect(res.body.llmMetadata).toMatchObject({ consulted: true, reason: "rule confidence 0.9 is below the threshold 0.95", status: "ok", model: "gpt-4o" });
    // The rules' actions first, then the LLM's; the rule version is cited beside the LLM's evidence.
    expect(res.body.recommendedActions.map((a: { message: string }) => a.message)).toEqual(["notify_operator", "Check line L01 now"]);
    expect(res.body.evidence.data_refs[0]).toEqual({ table: "rule_scripts", filter: `ruleset_id='${rulesetId}' AND version=1` });
    expect(await callsOf(admin, res.body.id)).toHaveLength(1);
    // The prompt saw the rules' verdict.
    expect((await callsOf(admin, res.body.id))[0]!.promptSummary).toContain("Rules said warning.");
  });

  it("keeps the rules' verdict without calling the LLM when they are confident enough (default threshold 0.8)", async () => {
    const { admin } = await seedTenant();
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    await seedPrompt(admin);
    const res = await execute(admin, { inputData: defectInput(0.065, unique()), rulesetId, method: "hybrid", promptVariables: { llm_test: llmScenario("gpt-4o=good") } });
    expect(res.body).toMatchObject({ methodUsed: "hybrid", result: "warning", confidence: 0.9, llmMetadata: { consulted: false } });
    expect(res.body.ruleTrace.ruleset_version).toBe(1);
    expect(await callsOf(admin, res.body.id)).toEqual([]);
  });

  it("asks the LLM when the rules say unknown, and keeps the rules' verdict when the LLM fails", async () => {
    const { admin } = await seedTenant({ settings: { hybrid_confidence_threshold: 0.95 } });
    const undecided = await seedRuleset(admin, [{ version: 1, script: 'fn judge(metrics) { #{ result: "unknown", explanation: "no rule for this line" } }' }]);
    await seedPrompt(admin);
    const asked = await execute(admin, { inputData: defectInput(0.02, unique()), rulesetId: undecided, method: "hybrid", promptVariables: { llm_test: llmScenario("gpt-4o=good", "result=normal confidence=0.7") } });
    expect(asked.body).toMatchObject({ result: "normal", confidence: 0.7, llmMetadata: { consulted: true, reason: "the rules judged the input unknown" } });

    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const failed = await execute(admin, { inputData: defectInput(0.065, unique()), rulesetId, method: "hybrid", promptVariables: { llm_test: llmScenario("gpt-4o=bad_schema") } });
    expect(failed.body).toMatchObject({ result: "warning", confidence: 0.9, cacheKey: null, llmMetadata: { consulted: true, status: "validation_error" } });
  });
});
