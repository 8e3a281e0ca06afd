/**
 * The Rhai subset used by factory rules (docs/factory-rhai.md): compile a script once, then run its
 * entry function on a judgment's input. Pure: no I/O, no globals; every run is bounded by Limits.
 */
import type { FnDef, Program } from "./ast";
import { Interpreter, type TraceEntry } from "./interpreter";
import { DEFAULT_LIMITS, RhaiError, RhaiSyntaxError, type Limits, type RhaiErrorKind } from "./limits";
import { parse } from "./parser";
import { fromJson, toJson, type Json, type Value } from "./values";

export type { Program } from "./ast";
export type { TraceEntry } from "./interpreter";
export { DEFAULT_LIMITS, type Limits, type RhaiErrorKind } from "./limits";
export type { Json } from "./values";
export { callCycles, comparisonConstants, conditionsMatching, probeValues, testCoverage } from "./analysis";
export type { CallCycle, Comparison, ComparisonConstants, ConditionMatch, ConditionOverlap, Coverage, MatchResult, Severity } from "./analysis";

export interface SyntaxErrorInfo {
  message: string;
  line: number;
  column: number;
}
export interface RunErrorInfo extends SyntaxErrorInfo {
  kind: RhaiErrorKind;
}

export type CompileResult = { ok: true; program: Program } | { ok: false; error: SyntaxErrorInfo };
export type RunResult = { ok: true; value: Json } | { ok: false; error: RunErrorInfo };
export type TraceResult = RunResult & { trace: TraceEntry[]; truncated: boolean };

/**
 * Parses and checks a script: syntax, nesting depth, duplicate functions, calls to unknown
 * functions or with the wrong number of arguments. Never throws.
 */
export function compile(source: string, limits: Partial<Limits> = {}): CompileResult {
  const l = { ...DEFAULT_LIMITS, ...limits };
  try {
    return { ok: true, program: parse(source, l) };
  } catch (err) {
    if (err instanceof RhaiSyntaxError) return { ok: false, error: { message: err.message, ...err.pos } };
    if (err instanceof RangeError) return { ok: false, error: { message: "the script nests too deeply to compile", line: 1, column: 1 } };
    throw err;
  }
}

/**
 * The function a ruleset runs: `entry` when named, else the script's first `fn`; a script without
 * functions runs its top-level statements. Null when `entry` names no function.
 */
export function resolveEntry(program: Program, entry?: string | null): FnDef | "main" | null {
  if (entry) return program.fns.get(entry) ?? null;
  const first = program.fnOrder[0];
  return first ? program.fns.get(first)! : "main";
}

/**
 * Runs the entry on `args`, the judgment input's top-level keys: each parameter of the entry takes
 * the key of the same name (`metrics`, `context`), `()` when absent; other keys are ignored. A
 * script without functions sees every key that is a valid identifier as a variable.
 */
export function run(program: Program, entry: string | null | undefined, args: Record<string, unknown>, limits: Partial<Limits> = {}): RunResult {
  const { trace: _t, truncated: _x, ...result } = execute(program, entry, args, { ...DEFAULT_LIMITS, ...limits }, false, false);
  return result as RunResult;
}

/** run() that also returns the branch decisions in evaluation order (§4.1 rule_trace is built from the taken ones). */
export function trace(program: Program, entry: string | null | undefined, args: Record<string, unknown>, limits: Partial<Limits> = {}): TraceResult {
  return execute(program, entry, args, { ...DEFAULT_LIMITS, ...limits }, true, false);
}

/** @internal for analysis: trace with `probe` on. */
export function execute(program: Program, entry: string | null | undefined, args: Record<string, unknown>, limits: Limits, withTrace: boolean, probe: boolean): TraceResult {
  const trace: TraceEntry[] = [];
  const interp = new Interpreter(program, { limits, trace: withTrace || probe ? trace : undefined, probe });
  const done = (r: RunResult): TraceResult => ({ ...r, trace, truncated: interp.truncated });
  try {
    const fn = resolveEntry(program, entry);
    if (!fn) throw new RhaiError("entry", `the script has no function named '${entry}'`);
    let value: Value;
    if (fn === "main") {
      const vars: Record<string, Value> = {};
      for (const [k, v] of Object.entries(args)) if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) vars[k] = fromJson(v, limits, k);
      value = interp.runMain(Interpreter.scopeOf(vars));
    } else {
      const values = fn.params.map((p) => (Object.hasOwn(args, p) ? fromJson(args[p], limits, p) : null));
      value = interp.callFunction(fn, values, fn.span);
    }
    return done({ ok: true, value: toJson(value) });
  } catch (err) {
    if (err instanceof RhaiError) return done({ ok: false, error: { kind: err.kind, message: err.message, ...err.pos } });
    // The parser and call depth bound the stack; this is the last guard if a host stack is smaller.
    if (err instanceof RangeError) return done({ ok: false, error: { kind: "limit", message: "the script ran out of stack (nesting too deep)", line: 0, column: 0 } });
    throw err;
  }
}
