import { describe, expect, it } from "vitest";
import { callCycles, comparisonConstants, conditionsMatching, probeValues, testCoverage } from "../../src/factory/rhai";
import { compiled, SPEC_INPUT, SPEC_SCRIPT } from "./factory-rhai-helpers";

const spec = compiled(SPEC_SCRIPT);

describe("callCycles (circular_dependency)", () => {
  it("finds a cycle of several functions reachable from the entry: high, with its path", () => {
    const p = compiled("fn judge(m) { a(m) } fn a(m) { b(m) } fn b(m) { c(m) } fn c(m) { if m > 0 { a(m - 1) } else { 0 } }");
    expect(callCycles(p)).toEqual([{ path: ["a", "b", "c", "a"], reachable: true, severity: "high" }]);
  });

  it("a function calling itself is medium; cycles the entry cannot reach are low", () => {
    const p = compiled("fn judge(n) { fact(n) } fn fact(n) { if n < 2 { 1 } else { n * fact(n - 1) } } fn x() { y() } fn y() { x() }");
    expect(callCycles(p)).toEqual([
      { path: ["fact", "fact"], reachable: true, severity: "medium" },
      { path: ["x", "y", "x"], reachable: false, severity: "low" },
    ]);
    expect(callCycles(p, "x").map((c) => [c.path.join(">"), c.severity])).toEqual([["fact>fact", "low"], ["x>y>x", "high"]]);
  });

  it("a script without cycles has none; the top level counts as a caller", () => {
    expect(callCycles(spec)).toEqual([]);
    expect(callCycles(compiled("fn a() { b() } fn b() { a() } a()"), null)[0]?.reachable).toBe(true);
  });
});

describe("comparisonConstants (the grid for output_conflict)", () => {
  it("traces the §5.2 comparisons through let bindings to input paths, with thresholds at the ?? default", () => {
    const c = comparisonConstants(spec);
    expect(c.paths).toEqual(["context.target_defect_rate", "metrics.defect_rate"]);
    expect(c.comparisons.map(({ text, leftPaths, rightPaths, constants, threshold, line, column }) => ({ text, leftPaths, rightPaths, constants, threshold, line, column }))).toEqual([
      { text: "defect_rate > target * 1.5", leftPaths: ["metrics.defect_rate"], rightPaths: ["context.target_defect_rate"], constants: [0.05, 1.5], threshold: 0.05 * 1.5, line: 6, column: 6 },
      { text: "defect_rate > target * 1.2", leftPaths: ["metrics.defect_rate"], rightPaths: ["context.target_defect_rate"], constants: [0.05, 1.2], threshold: 0.05 * 1.2, line: 13, column: 13 },
    ]);
    expect(c.constants).toEqual([0.05, 0.06, 0.05 * 1.5, 1.2, 1.5]);
  });

  it("reads literal comparisons either way round, index paths, and skips reassigned variables", () => {
    const p = compiled(`fn f(metrics, context) {
      let x = metrics.oee;
      let y = 1; y = 2;
      if 0.6 > x || context["line"] == "L01" { 1 } else if metrics.qty >= 1000 + 500 { 2 } else if y < 3 { 3 } else { 4 }
    }`);
    const c = comparisonConstants(p);
    expect(c.comparisons.map((x) => [x.text, [...x.leftPaths, ...x.rightPaths], x.threshold])).toEqual([
      ["0.6 > x", ["metrics.oee"], 0.6],
      ["context[\"line\"] == \"L01\"", ["context.line"], null],
      ["metrics.qty >= 1000 + 500", ["metrics.qty"], 1500],
      ["y < 3", [], null],
    ]);
    expect(c.constants).toEqual([0.6, 3, 500, 1000, 1500]);
  });

  it("probeValues puts 0, each constant, and 1% either side of it", () => {
    expect(probeValues([100, 0.05])).toEqual([0, 0.0495, 0.05, 0.0505, 99, 100, 101]);
  });
});

describe("conditionsMatching (condition_overlap)", () => {
  it("a critical §5.2 input holds both tiers of the else-if chain: a low overlap, the first wins", () => {
    const r = conditionsMatching(spec, null, { ...SPEC_INPUT, metrics: { defect_rate: 0.2 } });
    expect(r.ok).toBe(true);
    expect(r.conditions.map((c) => [c.condition, c.taken, c.tier])).toEqual([
      ["defect_rate > target * 1.5", true, 0],
      ["defect_rate > target * 1.2", false, 1],
    ]);
    expect(r.overlaps.map((o) => [o.first.branch, o.second.branch, o.severity])).toEqual([["L6:C6", "L13:C13", "low"]]);
  });

  it("the §4.1 warning input and a normal input overlap nowhere", () => {
    expect(conditionsMatching(spec, null, SPEC_INPUT).overlaps).toEqual([]);
    const normal = conditionsMatching(spec, null, { metrics: { defect_rate: 0.01 }, context: {} });
    expect([normal.conditions, normal.overlaps]).toEqual([[], []]);
  });

  it("separate ifs that both hold: medium when the first returns (shadowing), high when both run", () => {
    const returning = compiled(`fn f(m) {
  if m.x > 10 { return "critical"; }
  let limit = 5;
  if m.x > limit { return "warning"; }
  "normal"
}`);
    const r = conditionsMatching(returning, null, { m: { x: 20 } });
    expect(r.conditions.map((c) => [c.condition, c.taken])).toEqual([["m.x > 10", true], ["m.x > limit", false]]);
    expect(r.overlaps.map((o) => [o.first.condition, o.second.condition, o.severity])).toEqual([["m.x > 10", "m.x > limit", "medium"]]);
    expect(conditionsMatching(returning, null, { m: { x: 7 } }).overlaps).toEqual([]);

    const both = compiled(`fn f(m) {
  let r = "normal";
  if m.x > 10 { r = "critical"; }
  if m.x > 5 { r = "warning"; }
  r
}`);
    const b = conditionsMatching(both, null, { m: { x: 20 } });
    expect(b.ok && b.conditions.every((c) => c.taken)).toBe(true);
    expect(b.overlaps.map((o) => o.severity)).toEqual(["high"]);
  });

  it("a nested if refines its parent (no overlap); overlapping switch cases are low", () => {
    const nested = compiled("fn f(x) { if x > 1 { if x > 2 { 2 } else { 1 } } else { 0 } }");
    expect(conditionsMatching(nested, null, { x: 5 }).overlaps).toEqual([]);
    const sw = compiled("fn f(x) { switch x { 1..10 => \"a\", 5..=6 => \"b\", 6 => \"c\", _ => \"d\" } }");
    const r = conditionsMatching(sw, null, { x: 6 });
    expect(r.conditions.map((c) => [c.kind, c.condition, c.taken])).toEqual([
      ["case", "x => 1..10", true],
      ["case", "x => 5..=6", false],
      ["case", "x => 6", false],
      ["default", "x => _", false],
    ]);
    expect(new Set(r.overlaps.map((o) => o.severity))).toEqual(new Set(["low"]));
  });

  it("analysis does not change the result, and an error is reported with what was found before it", () => {
    const r = conditionsMatching(compiled("fn f(x) { if x > 1 { 1 / 0 } else { 0 } }"), null, { x: 2 });
    expect(r).toMatchObject({ ok: false, error: { kind: "runtime", message: "division by zero: 1 / 0" } });
    expect(r.conditions.map((c) => c.condition)).toEqual(["x > 1"]);
  });
});

describe("testCoverage (rule_scripts.test_coverage)", () => {
  const input = (defect_rate: number) => ({ metrics: { defect_rate }, context: {} });

  it("is the share of written branches the inputs take", () => {
    expect(testCoverage(spec, null, [input(0.1)])).toMatchObject({ coverage: 1 / 3, branches: 3, taken: ["L6:C6"], runs: 1, errors: 0 });
    expect(testCoverage(spec, null, [input(0.1), input(0.07)]).missed).toEqual([
      { branch: "L20:C5", kind: "else", fn: "judge_defect_rate", condition: "else", line: 20, column: 5 },
    ]);
    expect(testCoverage(spec, null, [input(0.1), input(0.07), input(0.01)]).coverage).toBe(1);
  });

  it("counts errors, covers switch cases, and is 1 for a branch-free script that ran, 0 with no inputs", () => {
    const sw = compiled("fn f(x) { switch x { 1 => \"a\", 2 => 1 / 0, _ => \"c\" } }");
    expect(testCoverage(sw, null, [{ x: 1 }, { x: 2 }])).toMatchObject({ coverage: 2 / 3, branches: 3, errors: 1 });
    expect(testCoverage(compiled("fn f(x) { x + 1 }"), null, [{ x: 1 }]).coverage).toBe(1);
    expect(testCoverage(compiled("fn f(x) { x + 1 }"), null, []).coverage).toBe(0);
  });
});
