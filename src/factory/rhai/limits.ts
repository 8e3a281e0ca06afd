/**
 * The interpreter's budgets. Every script runs under all of them: Rhai rules come from tenants, so
 * a loop, a recursion or a growing string must stop with an error instead of stalling the Worker.
 */
export interface Limits {
  /** Expression evaluations, loop iterations and array/map elements copied, counted together (Rhai's "operations", plus copies). */
  maxOperations: number;
  /** Nested function calls; the entry function is level 1. */
  maxCallDepth: number;
  /** Nesting of expressions and blocks, checked by the parser (both bound the JS stack). */
  maxExprDepth: number;
  /** Characters (UTF-16 code units) in any string built or received. */
  maxStringLength: number;
  maxArrayLength: number;
  maxMapSize: number;
  /** Nesting of arrays and objects in the input data. */
  maxInputDepth: number;
  /** Characters of script source accepted by compile(). */
  maxSourceLength: number;
  /** Entries recorded by trace(); later ones are dropped and the trace says it was truncated. */
  maxTraceEntries: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxOperations: 100_000,
  maxCallDepth: 32,
  maxExprDepth: 64,
  maxStringLength: 65_536,
  maxArrayLength: 10_000,
  maxMapSize: 10_000,
  maxInputDepth: 32,
  maxSourceLength: 100_000,
  maxTraceEntries: 1_000,
});

/** What stopped a run: `limit` for a budget, `type`/`runtime` for Rhai's own errors, `entry`/`input`/`output` for the host side. */
export type RhaiErrorKind = "runtime" | "type" | "limit" | "entry" | "input" | "output";

export interface Position {
  line: number;
  column: number;
}

/** An error raised while running a script, at the source position of the expression that failed. */
export class RhaiError extends Error {
  constructor(
    readonly kind: RhaiErrorKind,
    message: string,
    readonly pos: Position = { line: 0, column: 0 },
  ) {
    super(message);
  }
}

/** A syntax or compile-time error at a source position. */
export class RhaiSyntaxError extends Error {
  constructor(
    message: string,
    readonly pos: Position,
  ) {
    super(message);
  }
}
