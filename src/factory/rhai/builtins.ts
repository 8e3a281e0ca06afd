import { RhaiError } from "./limits";
import { display, equals, I64_MAX, I64_MIN, Range, sortedKeys, typeName, type SizeLimits, type Value } from "./values";

/** What a built-in may use: the size limits and a copy charged to the operations budget. */
export interface BuiltinContext {
  limits: SizeLimits;
  copy(v: Value): Value;
}

/** A built-in function; with `method`, `x.f(a)` means `f(x, a)` and may change `x` in place. */
export interface Builtin {
  arity: number[];
  method: boolean;
  call(args: Value[], ctx: BuiltinContext): Value;
}

const typeError = (name: string, args: Value[]): never => {
  throw new RhaiError("type", `function not found: ${name}(${args.map(typeName).join(", ")})`);
};

const toFloat = (v: Value, name: string, args: Value[]): number =>
  typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : typeError(name, args);

/** float → int as Rhai's to_int: truncated, an error outside i64. */
function floatToInt(x: number): bigint {
  const t = Math.trunc(x);
  if (!Number.isFinite(t) || t < -9.223372036854776e18 || t >= 9.223372036854776e18) {
    throw new RhaiError("runtime", `integer overflow: ${display(x)} does not fit in an i64`);
  }
  return BigInt(t);
}

const floatFn = (name: string, f: (x: number) => number): Builtin => ({
  arity: [1],
  method: true,
  call: (args) => f(toFloat(args[0] ?? null, name, args)),
});

const minMax = (name: "min" | "max"): Builtin => ({
  arity: [2],
  method: true,
  call: (args) => {
    const [a = null, b = null] = args;
    if (typeof a === "bigint" && typeof b === "bigint") return (name === "min" ? a <= b : a >= b) ? a : b;
    const x = toFloat(a, name, args);
    const y = toFloat(b, name, args);
    return name === "min" ? Math.min(x, y) : Math.max(x, y);
  },
});

/** The built-in functions of the subset (docs/factory-rhai.md lists them). */
export const BUILTINS: ReadonlyMap<string, Builtin> = new Map<string, Builtin>([
  [
    "len",
    {
      arity: [1],
      method: true,
      call: (args) => {
        const [v = null] = args;
        if (typeof v === "string") return BigInt([...v].length);
        if (Array.isArray(v)) return BigInt(v.length);
        if (v instanceof Map) return BigInt(v.size);
        return typeError("len", args);
      },
    },
  ],
  [
    "push",
    {
      arity: [2],
      method: true,
      call: (args, { limits, copy }) => {
        const [arr, item = null] = args;
        if (!Array.isArray(arr)) return typeError("push", args);
        if (arr.length + 1 > limits.maxArrayLength) throw new RhaiError("limit", `array grows past the limit of ${limits.maxArrayLength} items`);
        arr.push(copy(item));
        return null;
      },
    },
  ],
  [
    "contains",
    {
      arity: [2],
      method: true,
      call: (args) => {
        const [c, x = null] = args;
        if (Array.isArray(c)) return c.some((e) => equals(e, x));
        if (typeof c === "string" && typeof x === "string") return c.includes(x);
        if (c instanceof Map && typeof x === "string") return c.has(x);
        if (c instanceof Range && typeof x === "bigint") return c.contains(x);
        return typeError("contains", args);
      },
    },
  ],
  ["keys", { arity: [1], method: true, call: (args) => (args[0] instanceof Map ? sortedKeys(args[0]) : typeError("keys", args)) }],
  [
    "values",
    {
      arity: [1],
      method: true,
      call: (args, { copy }) => {
        const [m] = args;
        return m instanceof Map ? sortedKeys(m).map((k) => copy(m.get(k)!)) : typeError("values", args);
      },
    },
  ],
  [
    "to_string",
    {
      arity: [1],
      method: true,
      call: (args, { limits }) => {
        const s = display(args[0] ?? null);
        if (s.length > limits.maxStringLength) throw new RhaiError("limit", `string grows past the limit of ${limits.maxStringLength} characters`);
        return s;
      },
    },
  ],
  [
    "to_int",
    {
      arity: [1],
      method: true,
      call: (args) => {
        const [v = null] = args;
        if (typeof v === "bigint") return v;
        if (typeof v === "number") return floatToInt(v);
        return typeError("to_int", args);
      },
    },
  ],
  ["to_float", { arity: [1], method: true, call: (args) => toFloat(args[0] ?? null, "to_float", args) }],
  [
    "abs",
    {
      arity: [1],
      method: true,
      call: (args) => {
        const [v = null] = args;
        if (typeof v === "bigint") {
          if (v === I64_MIN) throw new RhaiError("runtime", `integer overflow: abs(${v})`);
          return v < 0n ? -v : v;
        }
        if (typeof v === "number") return Math.abs(v);
        return typeError("abs", args);
      },
    },
  ],
  ["min", minMax("min")],
  ["max", minMax("max")],
  // Rust's f64::round rounds half away from zero; Math.round rounds half up.
  ["round", floatFn("round", (x) => Math.sign(x) * Math.round(Math.abs(x)))],
  ["floor", floatFn("floor", Math.floor)],
  ["ceiling", floatFn("ceiling", Math.ceil)],
  ["sqrt", floatFn("sqrt", Math.sqrt)],
  ["type_of", { arity: [1], method: true, call: (args) => typeName(args[0] ?? null) }],
  [
    "range",
    {
      arity: [2],
      method: false,
      call: (args) => {
        const [a = null, b = null] = args;
        if (typeof a !== "bigint" || typeof b !== "bigint") return typeError("range", args);
        return new Range(a, b, false);
      },
    },
  ],
]);

/** i64 result check for integer arithmetic. */
export function checkInt(v: bigint, what: string): bigint {
  if (v > I64_MAX || v < I64_MIN) throw new RhaiError("runtime", `integer overflow: ${what}`);
  return v;
}
