/**
 * The Rhai subset used by factory rules (docs/factory-rhai.md): compile a script once, then run its
 * entry function on a judgment's input. Pure: no I/O, no globals; every run is bounded by Limits.
 */
import type { Program } from "./ast";
import { DEFAULT_LIMITS, RhaiSyntaxError, type Limits } from "./limits";
import { parse } from "./parser";
import { execute, type RunResult, type SyntaxErrorInfo, type TraceResult } from "./run";

export type { Program } from "./ast";
export type { TraceEntry } from "./interpreter";
export { DEFAULT_LIMITS, type Limits, type RhaiErrorKind } from "./limits";
export type { Json } from "./values";
export { resolveEntry, type RunErrorInfo, type RunResult, type SyntaxErrorInfo, type TraceResult } from "./run";
export { callCycles, type CallCycle, type Severity } from "./call-cycles";
export { comparisonConstants, probeValues, type Comparison, type ComparisonConstants } from "./comparisons";
export { conditionsMatching, testCoverage, type ConditionMatch, type ConditionOverlap, type Coverage, type MatchResult } from "./branches";

export type CompileResult = { ok: true; program: Program } | { ok: false; error: SyntaxErrorInfo };

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

