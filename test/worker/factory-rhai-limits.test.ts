import { describe, expect, it } from "vitest";
import { compile, DEFAULT_LIMITS, run, trace } from "../../src/factory/rhai";
import { compiled, failure, SPEC_INPUT, SPEC_SCRIPT, syntaxError, value } from "./factory-rhai-helpers";
import { call } from "./helpers";

/** After a runaway script the isolate must go on serving: the next request and the next evaluation work. */
async function stillServing() {
  const health = await call("GET", "/health");
  expect(health.status).toBe(200);
  const r = run(compiled(SPEC_SCRIPT), null, SPEC_INPUT);
  expect(r.ok && (r.value as { result: string }).result).toBe("warning");
}

describe("Rhai limits stop runaway scripts with a clear error", () => {
  it("an infinite loop stops at maxOperations", async () => {
    expect(failure("loop {}")).toEqual({ kind: "limit", message: `more than ${DEFAULT_LIMITS.maxOperations} operations (an endless loop?)`, line: 1, column: 1 });
    expect(failure("let i = 0; while true { i += 1; }").kind).toBe("limit");
    expect(failure("for i in 0..9223372036854775807 { }").kind).toBe("limit");
    await stillServing();
  });

  it("maxOperations is a budget: the same loop passes under a larger one", () => {
    const src = "let s = 0; for i in 0..100 { s += i; } s";
    expect(failure(src, {}, { maxOperations: 200 }).message).toBe("more than 200 operations (an endless loop?)");
    expect(value(src, {}, { maxOperations: 1_000 })).toBe(4950);
  });

  it("runaway recursion stops at maxCallDepth, direct or mutual", async () => {
    expect(failure("fn f(n) { f(n + 1) }", { n: 0 })).toEqual({
      kind: "limit", message: `call depth exceeds the limit of ${DEFAULT_LIMITS.maxCallDepth} (runaway recursion in 'f'?)`, line: 1, column: 11,
    });
    expect(failure("fn a(n) { b(n) } fn b(n) { a(n) }", { n: 1 }).message).toMatch(/^call depth exceeds the limit of 32/);
    await stillServing();
  });

  it("maxCallDepth allows recursion within it", () => {
    const src = "fn depth(n) { if n == 0 { 0 } else { 1 + depth(n - 1) } }";
    expect(value(src, { n: 9 }, { maxCallDepth: 10 })).toBe(9);
    expect(failure(src, { n: 10 }, { maxCallDepth: 10 }).kind).toBe("limit");
  });

  it("a string doubled in a loop stops at maxStringLength", async () => {
    expect(failure("let s = \"ab\"; loop { s += s; }")).toEqual({
      kind: "limit", message: `string grows past the limit of ${DEFAULT_LIMITS.maxStringLength} characters`, line: 1, column: 22,
    });
    expect(failure("let s = \"abcd\"; `${s}${s}${s}`", {}, { maxStringLength: 10 }).kind).toBe("limit");
    expect(failure("let a = [\"aaaa\", \"bbbb\", \"cccc\"]; a.to_string()", {}, { maxStringLength: 10 }).kind).toBe("limit");
    await stillServing();
  });

  it("arrays stop at maxArrayLength, maps at maxMapSize", () => {
    expect(failure("let a = []; loop { a.push(1); }")).toMatchObject({ kind: "limit", message: `array grows past the limit of ${DEFAULT_LIMITS.maxArrayLength} items` });
    expect(failure("let a = [1, 2, 3]; a + a", {}, { maxArrayLength: 5 }).message).toBe("array grows past the limit of 5 items");
    expect(failure("[1, 2, 3]", {}, { maxArrayLength: 2 }).message).toBe("array of 3 items is over the limit of 2");
    expect(failure("let m = #{}; for i in 0..100 { m[`k${i}`] = i; }", {}, { maxMapSize: 50 })).toMatchObject({
      kind: "limit", message: "map of 51 properties is over the limit of 50",
    });
    expect(failure("#{a: 1, b: 2}", {}, { maxMapSize: 1 }).kind).toBe("limit");
  });

  it("copying arrays and maps counts against maxOperations (no quadratic copy bombs)", async () => {
    expect(failure("let a = []; loop { a = [a, a]; }").kind).toBe("limit");
    expect(failure("let b = []; for i in 0..5000 { b.push(i); } let c = []; for i in 0..5000 { c.push(b); }").kind).toBe("limit");
    await stillServing();
  });

  it("nesting is bounded at compile time (maxExprDepth, half inside functions), never by the JS stack", () => {
    const deep = (n: number) => `${"(".repeat(n)}1${")".repeat(n)}`;
    expect(compile(deep(40)).ok).toBe(true);
    expect(syntaxError(deep(70)).message).toBe("nesting deeper than 64 levels (limit maxExprDepth)");
    expect(syntaxError(`fn f() { ${deep(40)} }`).message).toBe("nesting deeper than 32 levels (limit maxExprDepth, halved inside functions)");
    expect(syntaxError(`${"{".repeat(40_000)}${"}".repeat(40_000)}`).message).toBe("nesting deeper than 64 levels (limit maxExprDepth)");
    expect(syntaxError(`${"-".repeat(90_000)}1`).message).toBe("nesting deeper than 64 levels (limit maxExprDepth)");
    expect(syntaxError(`let a = ${"[".repeat(10_000)}`).message).toBe("nesting deeper than 64 levels (limit maxExprDepth)");
  });

  it("source length and input size are bounded too", () => {
    expect(compile("1;".repeat(60_000))).toEqual({ ok: false, error: { message: "script is 120000 characters, over the limit of 100000", line: 1, column: 1 } });
    const p = compiled("fn f(metrics) { metrics.s.len() }");
    expect(run(p, null, { metrics: { s: "x".repeat(70_000) } })).toEqual({
      ok: false, error: { kind: "input", message: "input metrics.s is a string of 70000 characters, over the limit of 65536", line: 0, column: 0 },
    });
    let nested: unknown = 1;
    for (let i = 0; i < 100; i++) nested = [nested];
    expect(run(p, null, { metrics: nested })).toMatchObject({ ok: false, error: { kind: "input", message: expect.stringContaining("nests deeper than 32 levels") } });
  });

  it("a trace keeps at most maxTraceEntries and says it was cut", () => {
    const p = compiled("let n = 0; for i in 0..50 { if i % 2 == 0 { n += 1; } } n");
    const t = trace(p, null, {}, { maxTraceEntries: 10 });
    expect(t.ok && t.value).toBe(25);
    expect(t.trace).toHaveLength(10);
    expect(t.truncated).toBe(true);
    expect(trace(p, null, {}).truncated).toBe(false);
  });

  it("scripts see only their arguments: no host functions, globals or eval", () => {
    expect(syntaxError("eval(\"1\")").message).toBe("'eval' is not part of the supported Rhai subset");
    expect(syntaxError("fetch(\"http://x\")").message).toBe("unknown function 'fetch'");
    expect(syntaxError("print(1)").message).toBe("'print' is not part of the supported Rhai subset");
    expect(failure("globalThis")).toMatchObject({ kind: "runtime", message: "variable 'globalThis' not found" });
    expect(failure("env.DB_URL").message).toBe("variable 'env' not found");
    expect(value("let m = #{}; [m.constructor, m.__proto__, m[\"toString\"]]")).toEqual([null, null, null]);
  });
});
