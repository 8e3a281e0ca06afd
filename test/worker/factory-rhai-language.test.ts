import { describe, expect, it } from "vitest";
import { compile, run } from "../../src/factory/rhai";
import { compiled, failure, syntaxError, value } from "./factory-rhai-helpers";

describe("Rhai subset: variables, functions, control flow", () => {
  it("let and const; const cannot change, not even through push or a property", () => {
    expect(value("let x = 1; let y; x = x + 41; [x, y]")).toEqual([42, null]);
    expect(value("let x = 1; { let x = 2; } x")).toBe(1);
    expect(value("let x = 1; let x = x + 1; x")).toBe(2);
    expect(failure("const K = 1; K = 2;")).toMatchObject({ kind: "runtime", message: "cannot change constant 'K'", line: 1, column: 14 });
    expect(failure("const A = [1]; A.push(2);").message).toBe("cannot change constant 'A'");
    expect(failure("const M = #{a: 1}; M.a = 2;").message).toBe("cannot change constant 'M'");
    expect(failure("x + 1")).toMatchObject({ kind: "runtime", message: "variable 'x' not found", line: 1, column: 1 });
  });

  it("functions: calls, recursion, early return, arguments copied (callers' arrays unchanged)", () => {
    expect(value("fn main() { fact(10) } fn fact(n) { if n <= 1 { return 1; } n * fact(n - 1) }")).toBe(3628800);
    expect(value("fn main() { let a = [1]; grow(a); a } fn grow(x) { x.push(2); x }")).toEqual([1]);
  });

  it("functions see only their parameters, not the caller's variables", () => {
    expect(failure("fn main() { let a = 5; f() } fn f() { a }")).toMatchObject({ message: "variable 'a' not found", line: 1, column: 39 });
  });

  it("if / else if / else as an expression; no arm taken gives ()", () => {
    expect(value("let x = 7; let s = if x > 5 { \"big\" } else if x > 2 { \"mid\" } else { \"small\" }; s")).toBe("big");
    expect(value("let x = 1; if x > 5 { 1 }")).toBe(null);
    expect(failure("if 1 { 2 }")).toMatchObject({ kind: "type", message: "an 'if' condition needs a boolean, found i64" });
  });

  it("switch as an expression: literals, alternatives, integer ranges, guards, default, no match", () => {
    const sw = "fn f(x) { switch x { 0 => \"zero\", 1 | 2 => \"few\", 3..=9 if x != 7 => \"some\", 10..100 => \"many\", \"a\" => \"letter\", _ => \"other\" } }";
    const p = compiled(sw);
    const of = (x: unknown) => run(p, null, { x });
    expect([0, 2, 5, 7, 9, 10, 99, 100, "a", 1.5].map((x) => (of(x) as { value: unknown }).value)).toEqual([
      "zero", "few", "some", "other", "some", "many", "many", "other", "letter", "other",
    ]);
    expect(value("switch 3 { 1 => 1 }")).toBe(null);
    // Matching is by type too: the float 1.0 does not match the integer case 1.
    expect(value("switch 1.0 { 1 => \"int\", _ => \"no\" }")).toBe("no");
  });

  it("while, loop and for with break, continue and a loop's break value", () => {
    expect(value("let i = 0; let s = 0; while i < 10 { i += 1; if i % 2 == 0 { continue; } s += i; } s")).toBe(25);
    expect(value("let i = 0; let r = loop { i += 1; if i == 4 { break i * 10; } }; r")).toBe(40);
    expect(value("let s = 0; for x in [1, 2, 3] { s += x; } s")).toBe(6);
    expect(value("let s = []; for i in 1..4 { s.push(i); } for i in 7..=8 { s.push(i); } s")).toEqual([1, 2, 3, 7, 8]);
    expect(value("let s = []; for (x, i) in [\"a\", \"b\"] { s.push(`${i}${x}`); } s")).toEqual(["0a", "1b"]);
    expect(value("let s = []; for c in \"héllo\" { if c == \"l\" { break; } s.push(c); } s")).toEqual(["h", "é"]);
    expect(value("let s = 0; for i in range(0, 5) { s += i; } s")).toBe(10);
  });

  it("a script without functions runs its top level with the input's keys as variables", () => {
    expect(value("metrics.oee * 100.0", { metrics: { oee: 0.78 }, "not-an-ident": 1 })).toBe(78);
    expect(value("return 5; 6")).toBe(5);
  });

  it("a named entry takes missing parameters as ()", () => {
    const p = compiled("fn a(x) { 1 } fn b(metrics, context) { [metrics, context ?? \"none\"] }");
    expect(run(p, "b", { metrics: 1 })).toEqual({ ok: true, value: [1, "none"] });
  });
});

describe("Rhai subset: maps, arrays, strings", () => {
  it("object maps: #{…}, .field, [\"key\"], assignment, nesting, keys in sorted order", () => {
    expect(value("let m = #{b: 1, \"a\": 2}; m.c = #{d: 3}; m[\"e\"] = 4; m.c.d += 1; [m.b, m[\"a\"], m.c.d, m.keys(), m.values().len(), m.len()]")).toEqual([
      1, 2, 4, ["a", "b", "c", "e"], 4, 4,
    ]);
    expect(value("#{z: 1, a: #{y: 2, b: ()}}")).toEqual({ a: { b: null, y: 2 }, z: 1 });
    // A `__proto__` key stays data: an own property of the output, not its prototype.
    expect(JSON.stringify(value("#{\"__proto__\": #{x: 1}}"))).toBe('{"__proto__":{"x":1}}');
    expect(value("let a = #{x: [1]}; let b = a; b.x.push(2); [a.x.len(), b.x.len()]")).toEqual([1, 2]);
  });

  it("arrays: index (negative from the end), assignment, push, len, contains, +", () => {
    expect(value("let a = [1, 2, 3]; a[0] = 10; a.push(4); [a[0], a[-1], a.len(), a.contains(2), len(a + [5, 6])]")).toEqual([10, 4, 4, true, 6]);
    expect(failure("let a = [1]; a[3]")).toMatchObject({ kind: "runtime", message: "array index 3 out of bounds for an array of 1 items", line: 1, column: 14 });
    expect(failure("let a = [1]; a[\"x\"]").kind).toBe("type");
  });

  it("strings: back-tick interpolation, +, escapes, indexing, len in characters", () => {
    expect(value("let n = 3; `n=${n}, f=${n * 0.5}, s=${\"x\" + 1}, b=${n > 2}, u=${()}.`")).toBe("n=3, f=1.5, s=x1, b=true, u=.");
    expect(value("`line\\n${`nested ${1 + 1}`}`")).toBe("line\nnested 2");
    expect(value("\"a\\t\\\"b\\\"\\u00e9\" + 'c'")).toBe("a\t\"b\"éc");
    expect(value("let s = \"가나다\"; [s.len(), s[1], s[-1], 1 + \"x\", \"x\" + ()]")).toEqual([3, "나", "다", "1x", "x"]);
    expect(value("`${[1, \"a\", ()]} ${#{b: 1.0, a: \"s\"}}`")).toBe('[1, "a", ()] #{"a": "s", "b": 1.0}');
  });

  it("?? , ?. , ?[ and in / !in", () => {
    expect(value("let m = #{a: #{b: 1}}; [m.x ?? 5, m?.a?.b, m.x?.y, m.x?[\"k\"], () ?? 2, 0 ?? 2]")).toEqual([5, 1, null, null, 2, 0]);
    expect(failure("let m = #{}; m.x.y")).toMatchObject({ kind: "type", message: "cannot read property 'y' of a value of type ()" });
    expect(value("[2 in [1, 2], \"b\" in #{b: 1}, \"ell\" in \"hello\", 5 in 1..5, 5 in 1..=5, 3 !in [1, 2]]")).toEqual([true, true, true, false, true, true]);
  });

  it("comments: //, /* */ and nested /* /* */ */", () => {
    expect(value("// line\nlet x = /* inline /* nested */ still comment */ 2; x // end")).toBe(2);
  });
});

describe("Rhai subset: numbers and comparisons", () => {
  it("integer division and remainder of two integers; any float makes a float", () => {
    expect(value("[7 / 2, -7 / 2, 7 % 3, -7 % 3, 7 / 2.0, 7.0 / 2, 2 ** 10, 2.0 ** 0.5 > 1.41, 1 + 0.5]")).toEqual([3, -3, 1, -1, 3.5, 3.5, 1024, true, 1.5]);
  });

  it("integer overflow is an error, as in Rhai's checked build", () => {
    expect(failure("9223372036854775807 + 1")).toMatchObject({ kind: "runtime", message: "integer overflow: 9223372036854775807 + 1", line: 1, column: 1 });
    expect(failure("let x = -9223372036854775807 - 1; x / -1").message).toBe("integer overflow: -9223372036854775808 / -1");
    expect(failure("3037000500 * 3037000500").message).toBe("integer overflow: 3037000500 * 3037000500");
    expect(failure("2 ** 64").message).toBe("integer overflow: 2 ** 64");
    expect(value("9223372036854775807")).toBe("9223372036854775807");
    // Beyond ±(2^53 − 1) an INT leaves as a decimal string: a JSON number would lose digits.
    expect(value("9007199254740992 - 1")).toBe(9007199254740991);
    expect(value("9007199254740991 + 1")).toBe("9007199254740992");
  });

  it("division by zero: an error for integers, infinity for floats (which JSON cannot carry)", () => {
    expect(failure("1 / 0")).toMatchObject({ kind: "runtime", message: "division by zero: 1 / 0" });
    expect(failure("1 % 0").message).toBe("division by zero: 1 % 0");
    expect(failure("1.0 / 0")).toMatchObject({ kind: "output", message: "result is inf, which JSON cannot carry" });
    expect(value("`${1.0 / 0}`")).toBe("inf");
  });

  it("floats print as Rhai prints them: 1.0, 0.05, exponent outside 1e-13..1e13", () => {
    expect(value("`${1.0} ${0.05} ${100.0} ${-2.5} ${1e20} ${1.5e-14} ${0.0000001} ${123456789012.0} ${0.0} ${10.0.to_string()}`")).toBe(
      "1.0 0.05 100.0 -2.5 1e20 1.5e-14 0.0000001 123456789012.0 0.0 10.0",
    );
  });

  it("integers and floats compare with each other; other mixed types compare false (!= true)", () => {
    expect(value("[1 == 1.0, 2 > 1.5, 1 < 1.0, \"1\" == 1, \"1\" != 1, 1 > \"0\", () == (), () == 0, true > false]")).toEqual([
      true, true, false, false, true, false, true, false, true,
    ]);
    // Rhai compares floats within a relative f64::EPSILON: 0.1 + 0.2 == 0.3.
    expect(value("[0.1 + 0.2 == 0.3, 0 < 1e-16, 0 < 1e-15]")).toEqual([true, false, true]);
    expect(failure("[1] < [2]")).toMatchObject({ kind: "type", message: "operator '<' is not defined for array and array" });
  });

  it("&& and || short-circuit and need booleans; ! negates", () => {
    expect(value("let m = #{}; [false && m.x.y, true || m.x.y, !false, true & false, true ^ true]")).toEqual([false, true, true, false, false]);
    expect(failure("1 && true")).toMatchObject({ kind: "type", message: "'&&' needs a boolean, found i64" });
  });

  it("built-ins: to_string, to_int, to_float, abs, min, max, round, floor, ceiling, sqrt, type_of", () => {
    expect(
      value("[to_string(1.5), 3.9.to_int(), -3.9.to_int(), 2.to_float(), abs(-3), (-2.5).abs(), min(3, 2), max(1, 2.5), 2.5.round(), (-2.5).round(), 2.7.floor(), 2.1.ceiling(), sqrt(16.0), sqrt(2) > 1.41, type_of(1), type_of(1.0), type_of(#{}), type_of(\"s\")]"),
    ).toEqual(["1.5", 3, -3, 2, 3, 2.5, 2, 2.5, 3, -3, 2, 3, 4, true, "i64", "f64", "map", "string"]);
    expect(failure("1e300.to_int()").kind).toBe("runtime");
    expect(failure("len(5)")).toMatchObject({ kind: "type", message: "function not found: len(i64)" });
  });

  it("input JSON: integral numbers become INT, others FLOAT, null becomes (); output maps sort their keys", () => {
    const p = compiled("fn f(x) { [type_of(x.a), type_of(x.b), type_of(x.c), x.a / 2, x] }");
    expect(run(p, null, { x: { b: 2.5, a: 3, c: null } })).toEqual({ ok: true, value: ["i64", "f64", "()", 1, { a: 3, b: 2.5, c: null }] });
  });
});

describe("compile errors name the line and column", () => {
  it.each([
    ["let x = ;", "expected an expression, found ';'", 1, 9],
    ["let x = 1\nlet y = 2;", "expected ';' to end the statement, found 'let'", 2, 1],
    ["fn f() {\n  if x = 1 { }\n}", "'=' is an assignment, not a comparison (did you mean '=='?)", 2, 8],
    ["let s = \"open", "unterminated string", 1, 9],
    ["let s = `a ${1 + } b`;", "expected an expression, found '}'", 1, 18],
    ["fn f() { 1 }\nfn f() { 2 }", "function 'f' is defined twice (overloading by arity is not supported)", 2, 1],
    ["fn f() { g(1) }", "unknown function 'g'", 1, 10],
    ["fn f(a) { 1 }\nf(1, 2)", "function 'f' takes 1 argument(s), called with 2", 2, 1],
    ["let a = [1];\na.frobnicate()", "unknown method 'frobnicate' (methods are the built-in functions that take a receiver)", 2, 3],
    ["fn f() { fn g() { } }", "functions can only be defined at the top level", 1, 10],
    ["switch 1 { _ => 1, 2 => 2 }", "the default case '_' must be the last case", 1, 20],
    ["switch 1 { x => 1 }", "a switch case must be a literal value or a range of integer literals", 1, 12],
    ["import \"m\" as m;", "'import' is not part of the supported Rhai subset", 1, 1],
    ["let x = #{a: 1, a: 2};", "property 'a' appears twice in this map", 1, 17],
    ["let x = 1 @ 2;", "unexpected character '@'", 1, 11],
    ["/* open", "unterminated block comment", 1, 1],
    ["let x = 99999999999999999999;", "integer literal 99999999999999999999 exceeds the 64-bit range", 1, 9],
    ["{ 1 ", "expected '}' to close the block opened here", 1, 1],
    ["fn g() {\n  if true { break; }\n}", "'break' outside a loop", 2, 13],
    ["loop { }\ncontinue;", "'continue' outside a loop", 2, 1],
  ])("%j", (source, message, line, column) => {
    expect(syntaxError(source)).toEqual({ message, line, column });
  });

  it("compiles every construct of the subset together", () => {
    const c = compile("fn a(x) { let y = #{k: [1, 2]}; for i in 0..2 { y.k.push(i); } while false {} loop { break; } switch x { 1 => 1, _ => 2 }; y?.k[0] ?? `${x}` } a(1)");
    expect(c.ok).toBe(true);
  });
});
