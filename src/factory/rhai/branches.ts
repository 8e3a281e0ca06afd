/** Branch-level analysis: §5.4 `condition_overlap` for one input, and `test_coverage` over many. */
import type { Block, Program } from "./ast";
import type { Severity } from "./call-cycles";
import type { TraceEntry } from "./interpreter";
import { DEFAULT_LIMITS, type Limits } from "./limits";
import { execute, type RunErrorInfo } from "./run";
import { bodies, walk } from "./walk";

export interface ConditionMatch {
  branch: string;
  kind: TraceEntry["kind"];
  fn: string | null;
  condition: string;
  /** The arm ran; false for conditions only analysis evaluated. */
  taken: boolean;
  chain: string;
  tier: number;
  line: number;
  column: number;
}

export interface ConditionOverlap {
  first: ConditionMatch;
  second: ConditionMatch;
  /** low: arms of one if/else-if chain or switch (ordered: the first wins by design); medium: separate ifs where the first's arm returns, so it shadows the second; high: separate ifs whose arms both run. */
  severity: Severity;
  reason: string;
}

export type MatchResult =
  | { ok: true; conditions: ConditionMatch[]; overlaps: ConditionOverlap[] }
  | { ok: false; error: RunErrorInfo; conditions: ConditionMatch[]; overlaps: ConditionOverlap[] };

/**
 * For one input: every branch condition that holds, including the later arms of a chain the run
 * skipped and the `if`s after a `return` in the same block, and the pairs of them that overlap
 * (severity rules on ConditionOverlap). Nested ifs inside a holding arm are refinements, not overlaps.
 */
export function conditionsMatching(program: Program, entry: string | null | undefined, args: Record<string, unknown>, limits: Partial<Limits> = {}): MatchResult {
  const r = execute(program, entry, args, { ...DEFAULT_LIMITS, ...limits }, true, true);
  const arms = armInfo(program);
  const seen = new Set<string>();
  const conditions: ConditionMatch[] = [];
  for (const t of r.trace) {
    const holds = t.kind === "case" || t.kind === "default" || ((t.kind === "if" || t.kind === "else if") && t.value === true);
    if (!holds || seen.has(t.branch)) continue;
    seen.add(t.branch);
    conditions.push({ branch: t.branch, kind: t.kind, fn: t.fn, condition: t.condition, taken: t.taken, chain: t.chain, tier: t.tier, line: t.line, column: t.column });
  }
  const overlaps: ConditionOverlap[] = [];
  for (const [i, a] of conditions.entries()) {
    for (const b of conditions.slice(i + 1)) {
      if (a.fn !== b.fn) continue;
      const ia = arms.get(a.branch)!;
      const ib = arms.get(b.branch)!;
      if (nestedIn(ib, ia) || nestedIn(ia, ib)) continue;
      const [first, second] = ia.start <= ib.start ? [a, b] : [b, a];
      const exits = (ia.start <= ib.start ? ia : ib).exits;
      if (a.chain === b.chain) overlaps.push({ first, second, severity: "low", reason: "arms of one if/else-if chain or switch both hold; the first one wins" });
      else if (exits) overlaps.push({ first, second, severity: "medium", reason: "separate ifs both hold; the first one's arm returns, so the second never runs for this input" });
      else overlaps.push({ first, second, severity: "high", reason: "separate ifs both hold and both arms run for this input" });
    }
  }
  return r.ok ? { ok: true, conditions, overlaps } : { ok: false, error: r.error, conditions, overlaps };
}

interface ArmInfo {
  start: number;
  bodyStart: number;
  bodyEnd: number;
  exits: boolean;
  kind: TraceEntry["kind"];
  fn: string | null;
  condition: string;
  line: number;
  column: number;
}

const nestedIn = (inner: ArmInfo, outer: ArmInfo) => inner.start >= outer.bodyStart && inner.start < outer.bodyEnd;

/** Every written branch of the script by id: if / else-if / else arms and switch cases. */
function armInfo(program: Program): Map<string, ArmInfo> {
  const out = new Map<string, ArmInfo>();
  for (const { fn, body } of bodies(program)) {
    walk(body, (e) => {
      if (e.k === "if") {
        e.arms.forEach((a, tier) => {
          out.set(a.id, {
            start: a.span.start, bodyStart: a.body.span.start, bodyEnd: a.body.span.end, exits: alwaysReturns(a.body),
            kind: !a.cond ? "else" : tier ? "else if" : "if", fn,
            condition: a.cond ? program.source.slice(a.cond.span.start, a.cond.span.end) : "else", line: a.span.line, column: a.span.column,
          });
        });
      }
      if (e.k === "switch") {
        const subject = program.source.slice(e.subject.span.start, e.subject.span.end);
        for (const c of e.cases) {
          out.set(c.id, {
            start: c.span.start, bodyStart: c.body.span.start, bodyEnd: c.body.span.end, exits: c.body.k === "block" ? alwaysReturns(c.body) : c.body.k === "return",
            kind: c.patterns.length ? "case" : "default", fn, condition: `${subject} => ${c.text}`, line: c.span.line, column: c.span.column,
          });
        }
      }
    });
  }
  return out;
}

function alwaysReturns(b: Block): boolean {
  const last = b.stmts[b.stmts.length - 1];
  if (!last) return false;
  if (last.k === "return") return true;
  if (last.k === "block") return alwaysReturns(last);
  if (last.k === "if") return last.arms.some((a) => !a.cond) && last.arms.every((a) => alwaysReturns(a.body));
  return false;
}

export interface Coverage {
  /** Written branches taken at least once ÷ written branches; 1 for a script without branches that ran, 0 if nothing ran. */
  coverage: number;
  branches: number;
  taken: string[];
  missed: { branch: string; kind: TraceEntry["kind"]; fn: string | null; condition: string; line: number; column: number }[];
  runs: number;
  errors: number;
}

/**
 * `test_coverage`: the share of the script's written branches (each if / else-if / else arm and
 * each switch case, in every function) that a set of inputs takes. Implicit else arms do not count.
 */
export function testCoverage(program: Program, entry: string | null | undefined, inputs: Record<string, unknown>[], limits: Partial<Limits> = {}): Coverage {
  const arms = armInfo(program);
  const taken = new Set<string>();
  let errors = 0;
  for (const input of inputs) {
    const r = execute(program, entry, input, { ...DEFAULT_LIMITS, ...limits }, true, false);
    if (!r.ok) errors++;
    for (const t of r.trace) if (t.taken) taken.add(t.branch);
  }
  const ran = inputs.length - errors > 0;
  const missed = [...arms].filter(([id]) => !taken.has(id)).map(([branch, a]) => ({ branch, kind: a.kind, fn: a.fn, condition: a.condition, line: a.line, column: a.column }));
  return {
    coverage: arms.size ? (arms.size - missed.length) / arms.size : ran ? 1 : 0,
    branches: arms.size,
    taken: [...taken].sort(),
    missed,
    runs: inputs.length,
    errors,
  };
}
