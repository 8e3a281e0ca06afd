import { RhaiError } from "./limits";

/** An integer range `a..b` (exclusive) or `a..=b` (inclusive). */
export class Range {
  constructor(
    readonly from: bigint,
    readonly to: bigint,
    readonly inclusive: boolean,
  ) {}
  contains(n: bigint): boolean {
    return n >= this.from && (this.inclusive ? n <= this.to : n < this.to);
  }
}

/**
 * A Rhai value: `bigint` is INT (i64), `number` is FLOAT (f64), `null` is `()`, Map is an object
 * map (key order is sorted when read, as Rhai's BTreeMap). Arrays and maps are values in Rhai:
 * they are copied when stored, so two variables never share one.
 */
export type Value = null | boolean | bigint | number | string | Value[] | RMap | Range;
export type RMap = Map<string, Value>;

export const I64_MIN = -(1n << 63n);
export const I64_MAX = (1n << 63n) - 1n;

export function typeName(v: Value): string {
  if (v === null) return "()";
  switch (typeof v) {
    case "boolean":
      return "bool";
    case "bigint":
      return "i64";
    case "number":
      return "f64";
    case "string":
      return "string";
  }
  if (Array.isArray(v)) return "array";
  if (v instanceof Map) return "map";
  return "range";
}

/**
 * Deep copy of arrays and maps (other values are immutable). `count` is called once per value
 * visited, elements included: the interpreter charges copies to the operations budget.
 */
export function cloneValue(v: Value, count?: () => void): Value {
  count?.();
  if (Array.isArray(v)) {
    return v.map((x) => cloneValue(x, count));
  }
  if (v instanceof Map) {
    const m: RMap = new Map();
    for (const [k, x] of v) m.set(k, cloneValue(x, count));
    return m;
  }
  return v;
}

export const sortedKeys = (m: RMap): string[] => [...m.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** A float as Rhai prints it: `1.0`, `0.05`, and exponent form outside 1e-13..1e13 (`1e20`, `1.5e-14`). */
export function formatFloat(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const abs = Math.abs(x);
  if (abs === 0) return "0.0";
  // Rhai's bounds are f32 constants widened to f64.
  if (abs > Math.fround(10_000_000_000_000) || abs < Math.fround(0.000_000_000_000_1)) {
    const [mant = "", exp = ""] = x.toExponential().split("e");
    return `${mant}e${exp.startsWith("+") ? exp.slice(1) : exp}`;
  }
  let s = plainDecimal(x);
  if (Number.isInteger(x)) s += ".0";
  return s;
}

/** The shortest round-trip digits of x written without an exponent (as Rust's Display does). */
function plainDecimal(x: number): string {
  const s = String(x);
  if (!/e/i.test(s)) return s;
  const [mant = "", expText = ""] = s.split("e");
  const exp = Number(expText);
  const neg = mant.startsWith("-");
  const digits = mant.replace("-", "").replace(".", "");
  const pointAt = (mant.replace("-", "").indexOf(".") + 1 || mant.replace("-", "").length + 1) - 1 + exp;
  const body = pointAt <= 0 ? `0.${"0".repeat(-pointAt)}${digits}` : pointAt >= digits.length ? digits + "0".repeat(pointAt - digits.length) : `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
  return (neg ? "-" : "") + body;
}

/** Rhai's `to_string` / interpolation form of a value. */
export function display(v: Value): string {
  if (v === null) return "";
  switch (typeof v) {
    case "boolean":
    case "bigint":
    case "string":
      return String(v);
    case "number":
      return formatFloat(v);
  }
  return debug(v);
}

/** Rhai's debug form, used for values inside arrays and maps: strings quoted, `()` shown. */
function debug(v: Value): string {
  if (v === null) return "()";
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(debug).join(", ")}]`;
  if (v instanceof Map) return `#{${sortedKeys(v).map((k) => `${JSON.stringify(k)}: ${debug(v.get(k)!)}`).join(", ")}}`;
  if (v instanceof Range) return `${v.from}..${v.inclusive ? "=" : ""}${v.to}`;
  return display(v);
}

// Rhai compares floats with a relative tolerance of f64::EPSILON (builtin.rs, checked build).
// NaN compares as NaN: every comparison with it is false, `!=` included (as in Rhai).
function floatCompare(x: number, y: number): number {
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.NaN;
  const max = x * y === 0 ? 1 : Math.max(Math.abs(x), Math.abs(y));
  const d = (x - y) / max;
  if (Math.abs(d) <= Number.EPSILON) return 0;
  return d > 0 ? 1 : -1;
}

const isNum = (v: Value): v is bigint | number => typeof v === "bigint" || typeof v === "number";

/**
 * Ordering of two values for `<` `<=` `>` `>=` `==` `!=`: a number, or "different" when the types
 * differ (Rhai then answers false, and true for `!=`), or "unordered" for same-type values
 * without an order (arrays, maps), which is an error for `<`-like operators.
 */
export function compare(a: Value, b: Value): number | "different" | "unordered" {
  if (typeof a === "bigint" && typeof b === "bigint") return a < b ? -1 : a > b ? 1 : 0;
  if (isNum(a) && isNum(b)) return floatCompare(Number(a), Number(b));
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  if (a === null && b === null) return 0;
  if (a === null || b === null || typeName(a) !== typeName(b)) return "different";
  return "unordered";
}

export function equals(a: Value, b: Value): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equals(x, b[i] ?? null));
  if (a instanceof Map && b instanceof Map) return a.size === b.size && [...a].every(([k, x]) => b.has(k) && equals(x, b.get(k)!));
  if (a instanceof Range && b instanceof Range) return a.from === b.from && a.to === b.to && a.inclusive === b.inclusive;
  return compare(a, b) === 0;
}

/** What a limit check needs: the sizes allowed. */
export interface SizeLimits {
  maxStringLength: number;
  maxArrayLength: number;
  maxMapSize: number;
  maxInputDepth: number;
}

/**
 * Input data → Rhai values. JSON numbers that are integers within i64 become INT, others FLOAT
 * (JSON cannot tell `1.0` from `1` once parsed, so `1.0` arrives as INT 1); null becomes `()`.
 */
export function fromJson(x: unknown, limits: SizeLimits, path = "", depth = 0): Value {
  if (x === null || x === undefined) return null;
  if (depth > limits.maxInputDepth) throw new RhaiError("input", `input ${path} nests deeper than ${limits.maxInputDepth} levels`);
  switch (typeof x) {
    case "boolean":
      return x;
    case "number":
      if (Number.isInteger(x) && Number.isSafeInteger(x)) return BigInt(x);
      return x;
    case "string":
      if (x.length > limits.maxStringLength) throw new RhaiError("input", `input ${path || "value"} is a string of ${x.length} characters, over the limit of ${limits.maxStringLength}`);
      return x;
    case "object":
      if (Array.isArray(x)) {
        if (x.length > limits.maxArrayLength) throw new RhaiError("input", `input ${path || "value"} is an array of ${x.length} items, over the limit of ${limits.maxArrayLength}`);
        return x.map((e, i) => fromJson(e, limits, `${path}[${i}]`, depth + 1));
      } else {
        const entries = Object.entries(x as Record<string, unknown>);
        if (entries.length > limits.maxMapSize) throw new RhaiError("input", `input ${path || "value"} is an object of ${entries.length} properties, over the limit of ${limits.maxMapSize}`);
        return new Map(entries.map(([k, e]) => [k, fromJson(e, limits, path ? `${path}.${k}` : k, depth + 1)]));
      }
  }
  throw new RhaiError("input", `input ${path || "value"} has type ${typeof x}, which JSON does not carry`);
}

/** JSON-compatible data of a Rhai value (see docs/factory-rhai.md, "Results"). */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * Rhai value → JSON data: `()` → null, INT → number when within ±2^53 else a decimal string,
 * FLOAT → number (NaN and infinities are an error), maps → objects with sorted keys.
 */
export function toJson(v: Value, path = "result"): Json {
  if (v === null || typeof v === "boolean" || typeof v === "string") return v;
  if (typeof v === "bigint") return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new RhaiError("output", `${path} is ${formatFloat(v)}, which JSON cannot carry`);
    return v;
  }
  if (Array.isArray(v)) return v.map((x, i) => toJson(x, `${path}[${i}]`));
  if (v instanceof Map) {
    const o: { [k: string]: Json } = {};
    // defineProperty: a `__proto__` key must stay an own property, not set the prototype.
    for (const k of sortedKeys(v)) Object.defineProperty(o, k, { value: toJson(v.get(k)!, `${path}.${k}`), enumerable: true, writable: true, configurable: true });
    return o;
  }
  throw new RhaiError("output", `${path} is a range, which has no JSON form`);
}
