import { describe, expect, it } from "vitest";
import { parseLlmJudgment } from "../../src/factory/llm-answer";

/** The judgment schema an LLM answer must meet (spec 003 §4.1), checked directly. */
describe("LLM judgment answers", () => {
  const minimal = { result: "normal", confidence: 0.5, explanation: "Within target." };

  it("accepts a minimal answer and fills the §4.1 defaults", () => {
    expect(parseLlmJudgment(JSON.stringify(minimal))).toEqual({
      ok: true,
      judgment: { ...minimal, recommended_actions: [], evidence: { data_refs: [], urls: [], charts: [], related_judgments: [] } },
    });
  });

  it("accepts a JSON answer wrapped in one code fence, and drops keys it does not know", () => {
    const parsed = parseLlmJudgment("```json\n" + JSON.stringify({ ...minimal, mood: "calm" }) + "\n```");
    expect(parsed.ok && parsed.judgment).toMatchObject(minimal);
    expect(parsed.ok && "mood" in parsed.judgment).toBe(false);
  });

  it("checks each action type's own fields", () => {
    const actions = [
      { action_type: "workflow", workflow_id: "equipment_inspection_workflow", input: { line_code: "L01" } },
      { action_type: "ticket", system: "jira", title: "L01 조사", priority: "critical", assignee: "maintenance_team" },
    ];
    const parsed = parseLlmJudgment(JSON.stringify({ ...minimal, recommended_actions: actions }));
    expect(parsed.ok && parsed.judgment.recommended_actions).toEqual(actions.map((a) => ({ ...a, auto_execute: false })));
    expect(parseLlmJudgment(JSON.stringify({ ...minimal, recommended_actions: [{ action_type: "workflow" }] }))).toEqual({
      ok: false,
      problems: ["/recommended_actions/0/workflow_id: Invalid input: expected string, received undefined"],
    });
    expect(parseLlmJudgment(JSON.stringify({ ...minimal, recommended_actions: [{ action_type: "email", message: "x" }] })).ok).toBe(false);
  });

  it("names what is wrong with JSON pointers", () => {
    const parsed = parseLlmJudgment(JSON.stringify({ result: "fine", confidence: -0.1 }));
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.problems.map((p) => p.split(":")[0])).toEqual(["/result", "/confidence", "/explanation"]);
    expect(parseLlmJudgment("[1]")).toEqual({ ok: false, problems: [expect.stringMatching(/^\(root\): /)] });
  });

  it("refuses text that is not JSON, and every judgment result outside the CHECK list", () => {
    expect(parseLlmJudgment("normal, 0.9")).toEqual({ ok: false, problems: ["the answer is not JSON"] });
    for (const result of ["normal", "warning", "critical", "unknown"]) expect(parseLlmJudgment(JSON.stringify({ ...minimal, result })).ok).toBe(true);
    expect(parseLlmJudgment(JSON.stringify({ ...minimal, result: "ok" })).ok).toBe(false);
    expect(parseLlmJudgment(JSON.stringify({ ...minimal, confidence: 1.01 })).ok).toBe(false);
  });
});
