import { describe, expect, it } from "vitest";
import { disagreements, distance, gridInputs, outputConflictSeverity, type Outcome } from "../../src/factory/conflict-rules";

const ok = (result: string | null): Outcome => ({ ok: true, result });
const failed: Outcome = { ok: false, error: "boom" };

describe("conflict rules (src/factory/conflict-rules.ts)", () => {
  it("measures how far two answers are apart", () => {
    expect(distance(ok("normal"), ok("normal"))).toBe(0);
    expect(distance(ok("normal"), ok("critical"))).toBe(2);
    expect(distance(ok("critical"), ok("warning"))).toBe(1);
    expect(distance(ok("unknown"), ok("normal"))).toBe(1);
    expect(distance(ok(null), ok("normal"))).toBe(1);
    expect(distance(failed, ok("normal"))).toBe(1);
    expect(distance(failed, failed)).toBe(0);
  });

  it("rates severity by scope and width", () => {
    expect(outputConflictSeverity("versions", 2)).toBe("high");
    expect(outputConflictSeverity("versions", 1)).toBe("medium");
    expect(outputConflictSeverity("rulesets", 2)).toBe("critical");
    expect(outputConflictSeverity("rulesets", 1)).toBe("high");
  });

  it("sets one compared path at a time on each base input, leaving the rest", () => {
    const base = { line_code: "L01", metrics: { defect_rate: 0.01, oee: 0.8 } };
    const grid = gridInputs([base], [
      { path: ["metrics", "defect_rate"], values: [0.1, 0.2] },
      { path: ["context", "target_defect_rate"], values: [0.1, 0.2] },
    ]);
    expect(grid).toEqual([
      { line_code: "L01", metrics: { defect_rate: 0.1, oee: 0.8 } },
      { line_code: "L01", metrics: { defect_rate: 0.2, oee: 0.8 } },
      { line_code: "L01", metrics: { defect_rate: 0.01, oee: 0.8 }, context: { target_defect_rate: 0.1 } },
      { line_code: "L01", metrics: { defect_rate: 0.01, oee: 0.8 }, context: { target_defect_rate: 0.2 } },
    ]);
    expect(base.metrics.defect_rate).toBe(0.01);
    expect(gridInputs([], [{ path: ["x"], values: [1] }])).toEqual([{ x: 1 }]);
    expect(gridInputs([{}], [{ path: ["x"], values: Array.from({ length: 700 }, (_, i) => i) }])).toHaveLength(600);
  });

  it("lists disagreements widest first", () => {
    const inputs = [{ v: 1 }, { v: 2 }, { v: 3 }];
    const verdict = (v: number, t: number) => ok(v > t + 1 ? "critical" : v > t ? "warning" : "normal");
    const { compared, found } = disagreements(inputs, (i) => [verdict(i.v as number, 0), verdict(i.v as number, 2)]);
    expect(compared).toBe(3);
    expect(found.map((d) => [d.input.v, d.distance])).toEqual([
      [2, 2],
      [1, 1],
      [3, 1],
    ]);
  });
});
