import { describe, expect, it } from "vitest";
import { compile } from "../../src/factory/rhai";
import { compareVersions, compileVersion, gridFor, outcome, probesOf, scriptHash } from "../../src/factory/rule-engine";
import { SPEC_INPUT, SPEC_SCRIPT } from "./factory-rhai-helpers";

/** The §5.2 script with other thresholds (×critical, ×warning of the target). */
export const thresholds = (critical: number, warning: number) => SPEC_SCRIPT.replace("target * 1.5", `target * ${critical}`).replace("target * 1.2", `target * ${warning}`);
const programOf = (source: string) => {
  const c = compile(source);
  if (!c.ok) throw new Error(c.error.message);
  return c.program;
};

describe("rule engine (src/factory/rule-engine.ts)", () => {
  it("compiles the §5.2 script, covers all three arms on its grid, and finds nothing wrong with its else-if tiers", () => {
    const v = compileVersion(SPEC_SCRIPT);
    expect(v.compileStatus).toBe("compiled");
    expect(v.compileError).toBeNull();
    expect(v.testCoverage).toBe(1);
    expect(v.findings).toEqual([]);
    const paths = probesOf(v.program!).map((p) => p.path.join("."));
    expect(paths).toContain("metrics.defect_rate");
    const grid = gridFor(probesOf(v.program!));
    const results = new Set(grid.map((input) => outcome(v.program!, input)).flatMap((o) => (o.ok ? [o.result] : [])));
    expect([...results].sort()).toEqual(["critical", "normal", "warning"]);
    expect(outcome(v.program!, SPEC_INPUT)).toEqual({ ok: true, result: "warning" });
  });

  it("stores what a failed compile says with line and column", () => {
    const v = compileVersion("fn judge(metrics) {\n  if metrics.x > { 1 }\n");
    expect(v.compileStatus).toBe("failed");
    expect(v.compileError).toMatch(/^line \d+, column \d+: \S/);
    expect(v.testCoverage).toBeNull();
  });

  it("finds circular dependencies and separate ifs that both hold", () => {
    const cycle = compileVersion("fn judge(metrics) { ping(metrics.n) }\nfn ping(n) { if n > 0 { pong(n - 1) } else { 0 } }\nfn pong(n) { ping(n) }");
    expect(cycle.findings).toHaveLength(1);
    expect(cycle.findings[0]).toMatchObject({ conflictType: "circular_dependency", severity: "high" });
    expect(cycle.findings[0]!.description).toContain("ping → pong → ping");

    const overlap = compileVersion(
      'fn judge(metrics) {\n  if metrics.oee < 0.6 { return #{ result: "critical" }; }\n  if metrics.oee < 0.8 { return #{ result: "warning" }; }\n  #{ result: "normal" }\n}',
    );
    expect(overlap.findings.map((f) => [f.conflictType, f.severity])).toEqual([["condition_overlap", "medium"]]);
    expect(overlap.findings[0]!.description).toContain("`metrics.oee < 0.6`");
  });

  it("compares two versions over stored inputs and the grid: severity by scope and width", () => {
    const spec = { program: programOf(SPEC_SCRIPT), label: "v1" };
    const lenient = { program: programOf(thresholds(3, 2.5)), label: "v2" };
    const slightly = { program: programOf(thresholds(1.5, 1.3)), label: "v3" };
    const versions = compareVersions(spec, lenient, [SPEC_INPUT], "versions");
    expect(versions).toMatchObject({ conflictType: "output_conflict", severity: "high" });
    expect(versions!.description).toMatch(/^v1 and v2 answer \d+ of \d+ inputs differently; e\.g\. .*: critical against normal$/);
    expect(compareVersions(spec, lenient, [], "rulesets")?.severity).toBe("critical");
    expect(compareVersions(spec, slightly, [], "versions")?.severity).toBe("medium");
    expect(compareVersions(spec, slightly, [], "rulesets")?.severity).toBe("high");
    expect(compareVersions(spec, { program: programOf(SPEC_SCRIPT), label: "copy" }, [SPEC_INPUT], "versions")).toBeNull();
  });

  it("hashes the script text with SHA-256", async () => {
    expect(await scriptHash("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});
