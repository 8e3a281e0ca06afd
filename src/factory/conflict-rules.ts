/**
 * §5.4 conflict rules that need no interpreter: the grid of inputs around a script's constants,
 * how two evaluations disagree, and the severity of an output_conflict (docs/factory-rules.md,
 * "Conflicts"). rule-engine.ts runs the scripts and feeds the results here.
 */

const VERDICT_LEVEL: Record<string, number> = { normal: 0, warning: 1, critical: 2 };

/** One script's answer for one input: its `result` (null when it gave none), or the error it stopped with. */
export type Outcome = { ok: true; result: string | null } | { ok: false; error: string };

/**
 * How far apart two answers are: 0 the same, 2 normal against critical, 1 any other difference
 * (one level apart, `unknown` or no result against a level, an error against an answer).
 */
export function distance(a: Outcome, b: Outcome): number {
  if (!a.ok || !b.ok) return a.ok === b.ok ? 0 : 1;
  if (a.result === b.result) return 0;
  const la = a.result === null ? undefined : VERDICT_LEVEL[a.result];
  const lb = b.result === null ? undefined : VERDICT_LEVEL[b.result];
  return la !== undefined && lb !== undefined ? Math.abs(la - lb) : 1;
}

/** Two versions of one ruleset, or the active versions of two rulesets on the same target_kpi. */
export type ConflictScope = "versions" | "rulesets";
export type Severity = "low" | "medium" | "high" | "critical";

/**
 * output_conflict severity by scope and the widest disagreement found. Two live rulesets on one
 * KPI answer the same production input differently at once, so they rate a level above two
 * versions of one ruleset (which differ on purpose when thresholds change): normal against
 * critical is critical between rulesets and high between versions; one level apart is high and
 * medium.
 */
export function outputConflictSeverity(scope: ConflictScope, widest: number): Severity {
  if (scope === "rulesets") return widest >= 2 ? "critical" : "high";
  return widest >= 2 ? "high" : "medium";
}

type Json = Record<string, unknown>;

function withPath(input: Json, path: readonly string[], value: number): Json {
  const copy: Json = structuredClone(input);
  let node = copy;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node[key] = next && typeof next === "object" && !Array.isArray(next) ? next : {};
    node = node[key] as Json;
  }
  node[path.at(-1)!] = value;
  return copy;
}

const MAX_GRID_INPUTS = 600;

/** An input path a script compares (`metrics.defect_rate` as its keys) and the values to try there. */
export interface Probe {
  path: readonly string[];
  values: readonly number[];
}

/**
 * Inputs around the constants: each base input (stored ones, else an empty one) with one compared
 * path set to each of its values, the others left as they are. At most `max` inputs (600).
 */
export function gridInputs(bases: readonly Json[], probes: readonly Probe[], max = MAX_GRID_INPUTS): Json[] {
  const out: Json[] = [];
  for (const base of bases.length ? bases : [{}]) {
    for (const { path, values } of probes) {
      if (!path.length) continue;
      for (const value of values) {
        if (out.length >= max) return out;
        out.push(withPath(base, path, value));
      }
    }
  }
  return out;
}

export interface Disagreement {
  input: Json;
  a: Outcome;
  b: Outcome;
  distance: number;
}

/** Every input on which the two answer differently, widest first; `compared` is how many inputs both ran. */
export function disagreements(inputs: readonly Json[], run: (input: Json) => [Outcome, Outcome]): { compared: number; found: Disagreement[] } {
  const found: Disagreement[] = [];
  for (const input of inputs) {
    const [a, b] = run(input);
    const d = distance(a, b);
    if (d > 0) found.push({ input, a, b, distance: d });
  }
  found.sort((x, y) => y.distance - x.distance);
  return { compared: inputs.length, found };
}

export const outcomeText = (o: Outcome) => (o.ok ? (o.result ?? "no result") : `error (${o.error})`);
