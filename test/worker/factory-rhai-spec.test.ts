import { describe, expect, it } from "vitest";
import { compile, resolveEntry, run, trace } from "../../src/factory/rhai";
import { compiled, SPEC_INPUT, SPEC_SCRIPT } from "./factory-rhai-helpers";

const program = compiled(SPEC_SCRIPT);
const judge = (metrics: Record<string, unknown>, context: Record<string, unknown>) => {
  const r = run(program, null, { ...SPEC_INPUT, metrics, context });
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value as { result: string; confidence: number; explanation: string; actions?: string[] };
};

describe("the §5.2 rule script", () => {
  it("compiles as written; its only fn is the entry, parameters bound by name", () => {
    expect(compile(SPEC_SCRIPT).ok).toBe(true);
    const entry = resolveEntry(program);
    expect(entry !== "main" && entry?.name).toBe("judge_defect_rate");
    expect(entry !== "main" && entry?.params).toEqual(["metrics", "context"]);
  });

  it("judges the §4.1 input_data example a warning (0.073 > 0.05 × 1.2, not > 0.05 × 1.5)", () => {
    const r = run(program, "judge_defect_rate", SPEC_INPUT);
    expect(r).toEqual({
      ok: true,
      value: { result: "warning", confidence: 0.9, explanation: "불량률 0.073이 목표치 0.05의 120% 초과", actions: ["notify_operator"] },
    });
  });

  it("is critical above 150% of the target and warning at exactly 150%", () => {
    const ctx = SPEC_INPUT.context;
    expect(judge({ defect_rate: 0.0751 }, ctx)).toEqual({
      result: "critical", confidence: 1, explanation: "불량률 0.0751이 목표치 0.05의 150% 초과", actions: ["alert_supervisor", "stop_line"],
    });
    expect(judge({ defect_rate: 0.075 }, ctx).result).toBe("warning");
  });

  it("is warning above 120% of the target and normal at or below it", () => {
    const ctx = SPEC_INPUT.context;
    expect(judge({ defect_rate: 0.0601 }, ctx).result).toBe("warning");
    expect(judge({ defect_rate: 0.06 }, ctx)).toEqual({ result: "normal", confidence: 1, explanation: "불량률 정상 범위" });
    expect(judge({ defect_rate: 0.01 }, ctx).result).toBe("normal");
  });

  it("follows a different target: thresholds move with it", () => {
    expect(judge({ defect_rate: 0.14 }, { target_defect_rate: 0.1 }).result).toBe("warning");
    expect(judge({ defect_rate: 0.16 }, { target_defect_rate: 0.1 }).explanation).toBe("불량률 0.16이 목표치 0.1의 150% 초과");
    expect(judge({ defect_rate: 0.11 }, { target_defect_rate: 0.1 }).result).toBe("normal");
  });

  it("uses 0.05 when target_defect_rate is missing or null", () => {
    expect(judge({ defect_rate: 0.08 }, {})).toEqual({
      result: "critical", confidence: 1, explanation: "불량률 0.08이 목표치 0.05의 150% 초과", actions: ["alert_supervisor", "stop_line"],
    });
    expect(judge({ defect_rate: 0.07 }, { target_defect_rate: null }).explanation).toBe("불량률 0.07이 목표치 0.05의 120% 초과");
    expect(judge({ defect_rate: 0.05 }, {}).result).toBe("normal");
  });

  it("without a context at all, context is () and reading its property is Rhai's error (the docs say to write ?.)", () => {
    expect(run(program, null, { metrics: { defect_rate: 0.08 } })).toEqual({
      ok: false,
      error: { kind: "type", message: "cannot read property 'target_defect_rate' of a value of type ()", line: 4, column: 16 },
    });
  });

  it("prints an integer-valued float with .0 in the explanation, as Rhai does", () => {
    expect(judge({ defect_rate: 3.0 + 0.5 }, { target_defect_rate: 2.0 }).explanation).toBe("불량률 3.5이 목표치 2의 150% 초과");
    // JSON 2.0 arrives as INT 2 (see docs); a FLOAT target built in the script prints as 2.0.
    const p = compiled("fn f(metrics, context) { let t = context.t * 1.0; `${t}` }");
    expect(run(p, null, { metrics: {}, context: { t: 2 } })).toEqual({ ok: true, value: "2.0" });
  });

  it("traces the branch taken with its condition text and value (rule_trace's matched_rules)", () => {
    const t = trace(program, null, SPEC_INPUT);
    expect(t.ok).toBe(true);
    expect(t.trace.map(({ kind, condition, value, taken, branch, fn }) => ({ kind, condition, value, taken, branch, fn }))).toEqual([
      { kind: "if", condition: "defect_rate > target * 1.5", value: false, taken: false, branch: "L6:C6", fn: "judge_defect_rate" },
      { kind: "else if", condition: "defect_rate > target * 1.2", value: true, taken: true, branch: "L13:C13", fn: "judge_defect_rate" },
    ]);
    const normal = trace(program, null, { metrics: { defect_rate: 0.01 }, context: {} });
    expect(normal.trace.filter((e) => e.taken).map((e) => [e.kind, e.condition, e.branch])).toEqual([["else", "else", "L20:C5"]]);
  });

  it("refuses an entry the script does not define", () => {
    const r = run(program, "judge_oee", SPEC_INPUT);
    expect(r).toEqual({ ok: false, error: { kind: "entry", message: "the script has no function named 'judge_oee'", line: 0, column: 0 } });
  });
});
