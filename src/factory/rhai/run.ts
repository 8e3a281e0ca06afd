/** Running a compiled program: choosing the entry, binding the input, converting the result. */
import type { FnDef, Program } from "./ast";
import { Interpreter, type TraceEntry } from "./interpreter";
import { RhaiError, type Limits, type RhaiErrorKind } from "./limits";
import { fromJson, toJson, type Json, type Value } from "./values";

export interface SyntaxErrorInfo {
  message: string;
  line: number;
  column: number;
}
export interface RunErrorInfo extends SyntaxErrorInfo {
  kind: RhaiErrorKind;
}

export type RunResult = { ok: true; value: Json } | { ok: false; error: RunErrorInfo };
export type TraceResult = RunResult & { trace: TraceEntry[]; truncated: boolean };

/**
 * The function a ruleset runs: `entry` when named, else the script's first `fn`; a script without
 * functions runs its top-level statements. Null when `entry` names no function.
 */
export function resolveEntry(program: Program, entry?: string | null): FnDef | "main" | null {
  if (entry) return program.fns.get(entry) ?? null;
  const first = program.fnOrder[0];
  return first ? program.fns.get(first)! : "main";
}

/** Runs the entry; `probe` (analysis only) also evaluates the conditions a run skips. */
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
