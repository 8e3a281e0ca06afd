import { expect } from "vitest";
import { compile, run, type Json, type Limits, type Program, type RunResult } from "../../src/factory/rhai";

export { SPEC_INPUT, SPEC_SCRIPT } from "./factory-rhai-fixtures";

export function compiled(source: string, limits?: Partial<Limits>): Program {
  const c = compile(source, limits);
  if (!c.ok) throw new Error(`compile failed: ${JSON.stringify(c.error)}`);
  return c.program;
}

/** Runs a script (its first fn, or its top level) and returns the value, failing the test on an error. */
export function value(source: string, args: Record<string, unknown> = {}, limits?: Partial<Limits>): Json {
  const r = run(compiled(source), null, args, limits);
  if (!r.ok) throw new Error(`run failed: ${JSON.stringify(r.error)}`);
  return r.value;
}

/** Runs a script that must fail and returns its error. */
export function failure(source: string, args: Record<string, unknown> = {}, limits?: Partial<Limits>) {
  const r: RunResult = run(compiled(source, limits), null, args, limits);
  expect(r.ok, `expected ${source} to fail`).toBe(false);
  return (r as Extract<RunResult, { ok: false }>).error;
}

/** Compiles a script that must not compile and returns the error. */
export function syntaxError(source: string) {
  const c = compile(source);
  expect(c.ok, `expected ${source} not to compile`).toBe(false);
  return (c as Extract<ReturnType<typeof compile>, { ok: false }>).error;
}
