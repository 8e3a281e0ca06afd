/** The comparisons of a script, their input paths and constants: the grid for §5.4 `output_conflict`. */
import type { Expr, Program } from "./ast";
import { bodies, walk } from "./walk";

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
