import type { BinaryOp } from "./ast";
import { checkInt, type BuiltinContext } from "./builtins";
import { RhaiError } from "./limits";
import { compare, display, equals, Range, typeName, type Value } from "./values";

const mismatch = (op: string, a: Value, b: Value): never => {
  throw new RhaiError("type", `operator '${op}' is not defined for ${typeName(a)} and ${typeName(b)}`);
};

/** Rhai's binary operators on two values (integer ops checked for i64 overflow). */
export function binaryOp(op: BinaryOp, a: Value, b: Value, { limits, copy }: BuiltinContext): Value {
  switch (op) {
    case "==":
    case "!=":
    case "<":
    case "<=":
    case ">":
    case ">=": {
      if (op === "==" || op === "!=") {
        if ((Array.isArray(a) && Array.isArray(b)) || (a instanceof Map && b instanceof Map) || (a instanceof Range && b instanceof Range)) {
          return equals(a, b) === (op === "==");
        }
      }
      const c = compare(a, b);
      if (c === "different") return op === "!=";
      if (c === "unordered") return mismatch(op, a, b);
      if (Number.isNaN(c)) return false;
      return op === "==" ? c === 0 : op === "!=" ? c !== 0 : op === "<" ? c < 0 : op === "<=" ? c <= 0 : op === ">" ? c > 0 : c >= 0;
    }
    case "in":
    case "!in":
      return contains(b, a, op) === (op === "in");
    case "..":
    case "..=":
      if (typeof a !== "bigint" || typeof b !== "bigint") return mismatch(op, a, b);
      return new Range(a, b, op === "..=");
  }
  if (op === "+") {
    if (typeof a === "string" || typeof b === "string") {
      const s = (typeof a === "string" ? a : display(a)) + (typeof b === "string" ? b : display(b));
      if (s.length > limits.maxStringLength) throw new RhaiError("limit", `string grows past the limit of ${limits.maxStringLength} characters`);
      return s;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      if (a.length + b.length > limits.maxArrayLength) throw new RhaiError("limit", `array grows past the limit of ${limits.maxArrayLength} items`);
      return [...a, ...b].map(copy);
    }
  }
  if (typeof a === "boolean" && typeof b === "boolean") {
    if (op === "&") return a && b;
    if (op === "|") return a || b;
    if (op === "^") return a !== b;
    return mismatch(op, a, b);
  }
  if (typeof a === "bigint" && typeof b === "bigint") return intOp(op, a, b);
  if ((typeof a === "bigint" || typeof a === "number") && (typeof b === "bigint" || typeof b === "number")) {
    const x = Number(a);
    const y = Number(b);
    switch (op) {
      case "+":
        return x + y;
      case "-":
        return x - y;
      case "*":
        return x * y;
      case "/":
        return x / y;
      case "%":
        return x % y;
      case "**":
        return x ** y;
    }
  }
  return mismatch(op, a, b);
}

function intOp(op: BinaryOp, a: bigint, b: bigint): Value {
  const what = `${a} ${op} ${b}`;
  switch (op) {
    case "+":
      return checkInt(a + b, what);
    case "-":
      return checkInt(a - b, what);
    case "*":
      return checkInt(a * b, what);
    case "/":
      if (b === 0n) throw new RhaiError("runtime", `division by zero: ${what}`);
      return checkInt(a / b, what);
    case "%":
      if (b === 0n) throw new RhaiError("runtime", `division by zero: ${what}`);
      return a % b;
    case "**":
      if (b < 0n) throw new RhaiError("runtime", `integer raised to a negative power: ${what}`);
      if (b > 63n && a !== 0n && a !== 1n && a !== -1n) throw new RhaiError("runtime", `integer overflow: ${what}`);
      return checkInt(a ** b, what);
    case "&":
      return a & b;
    case "|":
      return a | b;
    case "^":
      return a ^ b;
    case "<<":
    case ">>": {
      // Rhai: a negative shift shifts the other way; shifting by 64 or more is an error.
      const left = (op === "<<") === b >= 0n;
      const n = b < 0n ? -b : b;
      if (n >= 64n) throw new RhaiError("runtime", `shift by ${b} bits: ${what}`);
      return left ? BigInt.asIntN(64, a << n) : a >> n;
    }
  }
  return mismatch(op, a, b);
}

function contains(container: Value, x: Value, op: string): boolean {
  if (Array.isArray(container)) return container.some((e) => equals(e, x));
  if (typeof container === "string" && typeof x === "string") return container.includes(x);
  if (container instanceof Map && typeof x === "string") return container.has(x);
  if (container instanceof Range && typeof x === "bigint") return container.contains(x);
  return mismatch(op, x, container);
}
