import { describe, expect, it } from "vitest";
import { inputHash } from "../../src/platform/canonical-json";
import { cacheScope, judgmentCacheKey, readCachedJudgment, type CachedJudgment } from "../../src/factory/judgment-cache";
import { combineVerdicts, llmNeeded, verdictFromLlm, verdictFromRule, type Verdict } from "../../src/factory/judgment-verdict";
import { LlmJudgment } from "../../src/factory/llm-answer";

const TENANT = "00000000-0000-4000-8000-000000000001";
const RULESET = "11111111-1111-4111-8111-111111111111";
const WORKFLOW = "22222222-2222-4222-8222-222222222222";

describe("judgment cache key", () => {
  it("is judgment:{workflow_id}.{ruleset_id}.{method}:{sha256(JCS(input_data))}, whatever the key order of input_data", async () => {
    const a = await inputHash({ line_code: "L01", metrics: { defect_rate: 0.073, oee: 0.78 } });
    const b = await inputHash({ metrics: { oee: 0.78, defect_rate: 0.073 }, line_code: "L01" });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(judgmentCacheKey(cacheScope({ workflowId: WORKFLOW, rulesetId: RULESET, method: "hybrid", tenantId: TENANT }), a)).toBe(`judgment:${WORKFLOW}.${RULESET}.hybrid:${a}`);
    expect(cacheScope({ workflowId: WORKFLOW, rulesetId: RULESET, method: "rule_only", tenantId: TENANT })).not.toBe(cacheScope({ workflowId: WORKFLOW, rulesetId: TENANT, method: "rule_only", tenantId: TENANT }));
    expect(await inputHash({ line_code: "L01", metrics: { defect_rate: 0.074, oee: 0.78 } })).not.toBe(a);
  });

  it("scopes a call without a workflow by ruleset and method, and LLM-only calls by tenant", () => {
    expect(cacheScope({ rulesetId: RULESET, method: "rule_only", tenantId: TENANT })).toBe(`${RULESET}.rule_only`);
    expect(cacheScope({ rulesetId: RULESET, method: "hybrid", tenantId: TENANT })).toBe(`${RULESET}.hybrid`);
    expect(cacheScope({ rulesetId: RULESET, method: "llm_only", tenantId: TENANT })).toBe(`${TENANT}.llm_only`);
    expect(cacheScope({ method: "llm_only", tenantId: TENANT })).toBe(`${TENANT}.llm_only`);
  });

  it("reads an entry only for its own tenant, and a malformed one as a miss", () => {
    const entry: CachedJudgment = {
      tenantId: TENANT,
      executionId: "33333333-3333-4333-8333-333333333333",
      methodUsed: "rule_only",
      result: "critical",
      confidence: 1,
      explanation: "over",
      recommendedActions: [{ action_type: "alert", message: "stop_line" }],
      ruleTrace: { ruleset_version: 1 },
      llmMetadata: null,
      evidence: null,
    };
    expect(readCachedJudgment(JSON.stringify(entry), TENANT)).toEqual(entry);
    expect(readCachedJudgment(entry, TENANT)).toEqual(entry);
    expect(readCachedJudgment(JSON.stringify(entry), "another-tenant")).toBeNull();
    expect(readCachedJudgment("{not json", TENANT)).toBeNull();
    expect(readCachedJudgment(JSON.stringify({ ...entry, result: "fine" }), TENANT)).toBeNull();
    expect(readCachedJudgment(null, TENANT)).toBeNull();
  });
});

describe("a rule's verdict", () => {
  it("takes §5.2's map: result, confidence, explanation, named actions as alerts", () => {
    expect(verdictFromRule({ result: "critical", confidence: 1, explanation: "over 150%", actions: ["alert_supervisor", "stop_line"] })).toEqual({
      result: "critical",
      confidence: 1,
      explanation: "over 150%",
      recommendedActions: [
        { action_type: "alert", priority: "high", message: "alert_supervisor", auto_execute: false },
        { action_type: "alert", priority: "high", message: "stop_line", auto_execute: false },
      ],
    });
    expect(verdictFromRule({ result: "normal", confidence: 1, explanation: "fine" })).toEqual({ result: "normal", confidence: 1, explanation: "fine", recommendedActions: [] });
  });

  it("keeps a §4.1 action map as written and drops what is not an action", () => {
    const ticket = { action_type: "ticket", system: "jira", title: "L01", priority: "critical" };
    const v = verdictFromRule({ result: "warning", actions: [ticket, 42, { no_type: true }, ""] });
    expect(v.recommendedActions).toEqual([ticket]);
    expect(v.confidence).toBeNull();
  });

  it("is unknown, saying why, when the rule returned no decision", () => {
    expect(verdictFromRule(null)).toMatchObject({ result: "unknown", explanation: "the rule returned (), not a map with a result" });
    expect(verdictFromRule(3)).toMatchObject({ result: "unknown", explanation: "the rule returned 3, not a map with a result" });
    expect(verdictFromRule({ result: "bad" })).toMatchObject({ result: "unknown", explanation: 'the rule\'s result "bad" is not one of normal, warning, critical, unknown' });
    expect(verdictFromRule({ result: "normal", confidence: 1.5 })).toMatchObject({ result: "unknown" });
    expect(verdictFromRule({ result: "normal", confidence: "high" })).toMatchObject({ result: "unknown" });
  });
});

describe("hybrid", () => {
  const rule = (result: Verdict["result"], confidence: number | null): Verdict => ({ result, confidence, explanation: "rule", recommendedActions: [{ action_type: "alert", message: "r" }] });

  it("asks the LLM when the rules say unknown or are less confident than the threshold", () => {
    expect(llmNeeded(rule("unknown", null), 0.8)).toBe("the rules judged the input unknown");
    expect(llmNeeded(rule("warning", 0.7), 0.8)).toBe("rule confidence 0.7 is below the threshold 0.8");
    expect(llmNeeded(rule("warning", 0.8), 0.8)).toBeNull();
    expect(llmNeeded(rule("critical", null), 0.8)).toBeNull();
  });

  it("answers with the LLM's verdict and both sets of actions, or the rules' when the LLM gave none", () => {
    const llm = verdictFromLlm(LlmJudgment.parse({ result: "critical", confidence: 0.9, explanation: "llm", recommended_actions: [{ action_type: "ticket", title: "L01" }] }));
    expect(combineVerdicts(rule("warning", 0.5), llm)).toEqual({
      result: "critical",
      confidence: 0.9,
      explanation: "llm",
      recommendedActions: [{ action_type: "alert", message: "r" }, { action_type: "ticket", title: "L01", auto_execute: false }],
    });
    expect(combineVerdicts(rule("warning", 0.5), null)).toEqual(rule("warning", 0.5));
  });
});
