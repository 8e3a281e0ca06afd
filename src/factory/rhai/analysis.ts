/**
 * Static and input-driven analysis of a compiled script for §5.4's conflicts and for
 * `test_coverage` (rules in docs/factory-rhai.md, "Analysis").
 */
import type { Block, Expr, Program } from "./ast";
import { execute, resolveEntry, type RunErrorInfo } from "./index";
import type { TraceEntry } from "./interpreter";
import { DEFAULT_LIMITS, type Limits } from "./limits";
import { bodies, walk } from "./walk";

export type Severity = "low" | "medium" | "high" | "critical";

export interface CallCycle {
  /** The cycle as a call path that returns to its start, e.g. ["a", "b", "a"]. */
  path: string[];
  /** high: several functions, reachable from the entry; medium: a function calling itself, reachable; low: not reachable from the entry. */
  severity: Severity;
  reachable: boolean;
}

/** User functions calling each other in a cycle: one cycle per strongly connected group of functions. */
export function callCycles(program: Program, entry?: string | null): CallCycle[] {
  const graph = new Map<string, string[]>();
  for (const name of program.fnOrder) {
    const callees: string[] = [];
    walk(program.fns.get(name)!.body, (e) => {
      if (e.k === "call" && program.fns.has(e.name) && !callees.includes(e.name)) callees.push(e.name);
    });
    graph.set(name, callees);
  }
  const root = resolveEntry(program, entry);
  const reachable = new Set<string>();
  const starts = root === "main" ? topLevelCalls(program) : root ? [root.name] : [];
  const todo = [...starts];
  while (todo.length) {
    const f = todo.pop()!;
    if (reachable.has(f)) continue;
    reachable.add(f);
    todo.push(...(graph.get(f) ?? []));
  }
  return stronglyConnected(program.fnOrder, graph)
    .filter((group) => group.length > 1 || graph.get(group[0]!)!.includes(group[0]!))
    .map((group): CallCycle => {
      const path = cyclePath(group, graph);
      const isReachable = reachable.has(group[0]!);
      return { path, reachable: isReachable, severity: !isReachable ? "low" : group.length > 1 ? "high" : "medium" };
    });
}

function topLevelCalls(program: Program): string[] {
  const out: string[] = [];
  walk(program.main, (e) => {
    if (e.k === "call" && program.fns.has(e.name)) out.push(e.name);
  });
  return out;
}

// Tarjan's algorithm, iterative over the (small) set of functions; groups keep source order.
function stronglyConnected(nodes: string[], graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const groups: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      groups.push(group.sort((a, b) => nodes.indexOf(a) - nodes.indexOf(b)));
    }
  };
  for (const n of nodes) if (!index.has(n)) visit(n);
  return groups;
}

/** A shortest call path from the group's first function back to itself (breadth-first). */
function cyclePath(group: string[], graph: Map<string, string[]>): string[] {
  const start = group[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!group.includes(w)) continue;
      if (w === start) {
        const path: string[] = [];
        for (let x = v; x !== start; x = prev.get(x)!) path.unshift(x);
        return [start, ...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

export interface Comparison {
  fn: string | null;
  /** Source text of the comparison, e.g. `defect_rate > target * 1.5`. */
  text: string;
  op: string;
  line: number;
  column: number;
  /** Input paths each side reads (through `let` bindings), e.g. `metrics.defect_rate`. */
  leftPaths: string[];
  rightPaths: string[];
  /** The numeric literals of both sides. */
  constants: number[];
  /** When one side is exactly an input path: the other side's value, missing inputs taking their `??` defaults; else null. */
  threshold: number | null;
}

export interface ComparisonConstants {
  comparisons: Comparison[];
  /** Every literal and threshold, sorted, unique. */
  constants: number[];
  /** Every input path compared, sorted, unique. */
  paths: string[];
}

interface Sym {
  paths: string[];
  constants: number[];
  /** The folded value when the expression reads no input, or falls back to a constant through `??`. */
  value: number | null;
  /** The expression is exactly an input path. */
  path: string | null;
}

const COMPARE = new Set(["<", "<=", ">", ">=", "==", "!="]);

/**
 * The comparisons in every function and the top level, with the input paths and constants they
 * compare: a caller builds a grid of inputs around them (probeValues) for `output_conflict`.
 */
export function comparisonConstants(program: Program): ComparisonConstants {
  const comparisons: Comparison[] = [];
  for (const { fn, body, params } of bodies(program)) {
    const lets = singleAssignedLets(body);
    const sym = (e: Expr, depth = 0): Sym => {
      const none: Sym = { paths: [], constants: [], value: null, path: null };
      if (depth > 32) return none;
      const merge = (xs: Sym[], value: number | null): Sym => ({ paths: xs.flatMap((x) => x.paths), constants: xs.flatMap((x) => x.constants), value, path: null });
      switch (e.k) {
        case "lit":
          return typeof e.v === "bigint" || typeof e.v === "number" ? { ...none, constants: [Number(e.v)], value: Number(e.v) } : none;
        case "var":
          if (lets.has(e.name)) return sym(lets.get(e.name)!, depth + 1);
          if (params.includes(e.name) || fn === null) return { ...none, paths: [e.name], path: e.name };
          return none;
        case "prop": {
          const o = sym(e.obj, depth + 1);
          return o.path ? { ...none, paths: [`${o.path}.${e.name}`], path: `${o.path}.${e.name}` } : { ...o, value: null, path: null };
        }
        case "index": {
          const o = sym(e.obj, depth + 1);
          if (o.path && e.idx.k === "lit" && typeof e.idx.v === "string") return { ...none, paths: [`${o.path}.${e.idx.v}`], path: `${o.path}.${e.idx.v}` };
          return merge([o, sym(e.idx, depth + 1)], null);
        }
        case "coalesce": {
          const l = sym(e.l, depth + 1);
          const r = sym(e.r, depth + 1);
          return merge([l, r], l.paths.length ? r.value : (l.value ?? r.value));
        }
        case "unary": {
          const x = sym(e.e, depth + 1);
          return { ...x, path: null, value: x.value === null ? null : e.op === "-" ? -x.value : x.value };
        }
        case "bin": {
          const l = sym(e.l, depth + 1);
          const r = sym(e.r, depth + 1);
          return merge([l, r], l.value !== null && r.value !== null ? fold(e.op, l.value, r.value) : null);
        }
        case "method":
        case "call": {
          const args = e.k === "method" ? [e.obj, ...e.args] : e.args;
          const xs = args.map((a) => sym(a, depth + 1));
          return merge(xs, xs.length === 1 && ["to_float", "to_int", "abs"].includes(e.name) ? xs[0]!.value : null);
        }
        default:
          return none;
      }
    };
    walk(body, (e) => {
      if (e.k !== "bin" || !COMPARE.has(e.op)) return;
      const l = sym(e.l);
      const r = sym(e.r);
      comparisons.push({
        fn, text: program.source.slice(e.span.start, e.span.end), op: e.op, line: e.span.line, column: e.span.column,
        leftPaths: unique(l.paths), rightPaths: unique(r.paths), constants: uniqueNumbers([...l.constants, ...r.constants]),
        threshold: l.path ? r.value : r.path ? l.value : null,
      });
    });
  }
  return {
    comparisons,
    constants: uniqueNumbers(comparisons.flatMap((c) => [...c.constants, ...(c.threshold === null ? [] : [c.threshold])])),
    paths: unique(comparisons.flatMap((c) => [...c.leftPaths, ...c.rightPaths])).sort(),
  };
}

function fold(op: string, a: number, b: number): number | null {
  switch (op) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "/":
      return b === 0 ? null : a / b;
    default:
      return null;
  }
}

/** `let` variables never assigned again in the body: their initialiser stands for them. */
function singleAssignedLets(body: Expr): Map<string, Expr> {
  const lets = new Map<string, Expr>();
  const changed = new Set<string>();
  walk(body, (e) => {
    if (e.k === "let") {
      if (lets.has(e.name) || !e.init) changed.add(e.name);
      else lets.set(e.name, e.init);
    }
    if (e.k === "assign") {
      let t = e.target;
      while (t.k === "prop" || t.k === "index") t = t.obj;
      if (t.k === "var") changed.add(t.name);
    }
    if (e.k === "for") {
      changed.add(e.name);
      if (e.counter) changed.add(e.counter);
    }
  });
  for (const n of changed) lets.delete(n);
  return lets;
}

const unique = (xs: string[]) => [...new Set(xs)];
const uniqueNumbers = (xs: number[]) => [...new Set(xs.filter(Number.isFinite))].sort((a, b) => a - b);

/**
 * Values to try around each constant: the constant, 1% either side (at least 1e-9), and 0; with
 * the §4.1 inputs they make the grid `output_conflict` evaluates both versions on.
 */
export function probeValues(constants: number[]): number[] {
  const out: number[] = [0];
  for (const c of constants) {
    const d = Math.max(Math.abs(c) * 0.01, 1e-9);
    out.push(c - d, c, c + d);
  }
  return uniqueNumbers(out);
}

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
