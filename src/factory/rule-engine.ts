import { disagreements, gridInputs, outcomeText, outputConflictSeverity, type ConflictScope, type Outcome, type Probe, type Severity } from "./conflict-rules";
import { callCycles, comparisonConstants, compile, conditionsMatching, probeValues, run, testCoverage, type Limits, type Program } from "./rhai";

/**
 * What the rule routes and the conflict consumer need from the interpreter (docs/factory-rules.md):
 * a version's compile result, test_coverage and own conflicts, and the comparison of two versions.
 * A ruleset's entry is its script's first `fn` (the interpreter's default, docs/factory-rhai.md).
 */

type Json = Record<string, unknown>;

/**
 * Analysis runs a script on hundreds of inputs, so each run gets a tenth of the operations a
 * judgment gets: a rule that needs more on one input is analysed as failing there. The version
 * write analyses at most 120 grid inputs (its CPU is on the request path), the consumer 600.
 */
const ANALYSIS: Partial<Limits> = { maxOperations: 10_000 };
const INLINE_GRID = 120;

export interface Finding {
  conflictType: "output_conflict" | "condition_overlap" | "circular_dependency";
  severity: Severity;
  description: string;
}

export type CompiledVersion =
  | { compileStatus: "compiled"; compileError: null; program: Program; testCoverage: number; findings: Finding[] }
  | { compileStatus: "failed"; compileError: string; program: null; testCoverage: null; findings: [] };

/** A compared input path, the values around its thresholds (the interpreter's probeValues), and its first threshold. */
export type PathProbe = Probe & { at: number };

/** The input paths a script compares, each with the values to try there. */
export function probesOf(program: Program): PathProbe[] {
  const byPath = new Map<string, number[]>();
  for (const cmp of comparisonConstants(program).comparisons) {
    const values = cmp.threshold === null ? cmp.constants : [cmp.threshold];
    for (const path of [...cmp.leftPaths, ...cmp.rightPaths]) byPath.set(path, [...(byPath.get(path) ?? []), ...values]);
  }
  return [...byPath].map(([path, constants]) => ({ path: path.split("."), values: probeValues(constants), at: constants[0] ?? 0 }));
}

/**
 * The grid a script is tried on: every compared path varied one at a time, on an input whose
 * compared paths all sit at their first threshold (so conditions joined with `&&` are reached),
 * on an empty input, then on each `stored` input; at most `max` inputs.
 */
export function gridFor(probes: readonly PathProbe[], stored: readonly Json[] = [], max?: number): Json[] {
  const atThreshold = gridInputs([{}], probes.map((p) => ({ path: p.path, values: [p.at] }))).reduce<Json>(merge, {});
  return gridInputs([atThreshold, {}, ...stored], probes, max);
}

function merge(into: Json, from: Json): Json {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    into[k] = cur && typeof cur === "object" && v && typeof v === "object" ? merge(cur as Json, v as Json) : v;
  }
  return into;
}

const RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };
const worst = (severities: Severity[]) => severities.reduce((a, b) => (RANK[b] > RANK[a] ? b : a));

/** circular_dependency: one finding listing every cycle, at the interpreter's worst severity. */
function cycleFinding(program: Program): Finding[] {
  const cycles = callCycles(program);
  if (!cycles.length) return [];
  const paths = cycles.map((c) => `${c.path.join(" → ")}${c.reachable ? "" : " (not reachable from the entry)"}`);
  return [{ conflictType: "circular_dependency", severity: worst(cycles.map((c) => c.severity)), description: `functions call each other in a cycle: ${paths.join("; ")}` }];
}

/**
 * condition_overlap over the grid: separate `if`s that both hold for one input (the interpreter's
 * medium and high overlaps). Arms of one if/else-if chain or switch that both hold are the ordered
 * tiers §5.2 itself is written with (the first wins by design) and are not recorded.
 */
function overlapFinding(program: Program, grid: readonly Json[]): Finding[] {
  const pairs = new Map<string, { severity: Severity; text: string }>();
  for (const input of grid) {
    for (const o of conditionsMatching(program, null, input, ANALYSIS).overlaps) {
      if (o.severity === "low") continue;
      const key = `${o.first.branch}|${o.second.branch}`;
      if (!pairs.has(key)) pairs.set(key, { severity: o.severity, text: `\`${o.first.condition}\` (line ${o.first.line}) and \`${o.second.condition}\` (line ${o.second.line}) both hold for ${JSON.stringify(input)}: ${o.reason}` });
    }
  }
  if (!pairs.size) return [];
  const found = [...pairs.values()];
  const more = found.length > 3 ? ` (and ${found.length - 3} more pairs)` : "";
  return [{ conflictType: "condition_overlap", severity: worst(found.map((p) => p.severity)), description: found.slice(0, 3).map((p) => p.text).join("; ") + more }];
}

/** SHA-256 (hex) of the script's UTF-8 text: rule_scripts.script_hash. */
export async function scriptHash(script: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(script));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compiles a new version and finds what it can alone: test_coverage over its grid, its cycles and overlapping conditions. */
export function compileVersion(script: string): CompiledVersion {
  const compiled = compile(script);
  if (!compiled.ok) {
    const { line, column, message } = compiled.error;
    return { compileStatus: "failed", compileError: `line ${line}, column ${column}: ${message}`, program: null, testCoverage: null, findings: [] };
  }
  const program = compiled.program;
  const grid = gridFor(probesOf(program), [], INLINE_GRID);
  const coverage = testCoverage(program, null, grid.length ? grid : [{}], ANALYSIS).coverage;
  return { compileStatus: "compiled", compileError: null, program, testCoverage: coverage, findings: [...cycleFinding(program), ...overlapFinding(program, grid)] };
}

/** A script's answer to one input: the `result` of the map it returns (null for anything else), or its error. */
export function outcome(program: Program, input: Json): Outcome {
  const r = run(program, null, input, ANALYSIS);
  if (!r.ok) return { ok: false, error: `${r.error.kind}: ${r.error.message}` };
  const v = r.value;
  const result = v && typeof v === "object" && !Array.isArray(v) ? (v as Json).result : undefined;
  return { ok: true, result: typeof result === "string" ? result : null };
}

/**
 * output_conflict between two scripts over the stored inputs and the grid around both scripts'
 * constants: null when they always agree, else the finding (severity by scope and width).
 */
export function compareVersions(a: { program: Program; label: string }, b: { program: Program; label: string }, stored: readonly Json[], scope: ConflictScope): Finding | null {
  const inputs = [...stored, ...gridFor([...probesOf(a.program), ...probesOf(b.program)], stored.slice(0, 20))];
  const { compared, found } = disagreements(inputs, (input) => [outcome(a.program, input), outcome(b.program, input)]);
  const first = found[0];
  if (!first) return null;
  return {
    conflictType: "output_conflict",
    severity: outputConflictSeverity(scope, first.distance),
    description:
      `${a.label} and ${b.label} answer ${found.length} of ${compared} inputs differently; e.g. ${JSON.stringify(first.input)}: ` +
      `${outcomeText(first.a)} against ${outcomeText(first.b)}`,
  };
}
