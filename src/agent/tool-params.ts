import { dereference, escapePointer, validate, type OutputUnit, type Schema } from "@cfworker/json-schema";
import type { FieldError } from "../platform/problem";
import { canonicalize, NotCanonicalJsonError } from "../platform/canonical-json";
import { META_SCHEMA_2020_12 } from "./json-schema-meta";

/**
 * A tool's `parameters_schema` (spec 002 §4.1) and the `tool_params` of the todos that call it.
 * JSON Schema 2020-12 through @cfworker/json-schema, which interprets schemas (ajv compiles them
 * with `new Function`, which Workers forbid).
 *
 * `[]`, the DDL's default, means the tool takes no parameters; any other list is refused. A schema
 * must be an object whose root accepts an object, since `tool_params` is one.
 */

export const DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema";

/** A field error that also carries the JSON pointer inside the checked value, and whose todo and tool it concerns. */
export interface ParamsFault extends FieldError {
  pointer: string;
  todo?: string;
  tool?: string;
}

/** Faults reported for one schema or one todo's parameters, at most: the first ones say what to fix. */
export const MAX_FAULTS = 20;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** The dotted field path of a JSON pointer below `at` (json.todos.2.toolParams + /a/0 → …toolParams.a.0). */
const fieldPath = (at: string, pointer: string) =>
  [at, ...pointer.split("/").slice(1).map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"))].join(".");

/** cfworker reports locations as URI fragments ("#/a%20b"); faults name plain JSON pointers ("/a b"). */
const pointerOf = (location: string) => decodeURIComponent(location.replace(/^#/, ""));

/**
 * The errors that say what is wrong: not the "a subschema failed" wrappers above them, one summary
 * per failed anyOf/oneOf rather than every branch's complaint, and a property a `false` schema
 * refuses named as such.
 */
function leafErrors(errors: OutputUnit[]): { pointer: string; message: string }[] {
  const units: OutputUnit[] = [];
  for (let i = 0; i < errors.length; i++) {
    const e = errors[i]!;
    units.push(e);
    if (e.keyword !== "anyOf" && e.keyword !== "oneOf") continue;
    const inside = `${e.keywordLocation}/`;
    while (i + 1 < errors.length && (errors[i + 1]!.keywordLocation.startsWith(inside) || errors[i + 1]!.keyword === "false")) i++;
  }
  // Sorted, so "does any error sit below this location" is one binary search (a large array of bad
  // items makes thousands of errors).
  const locations = units.map((e) => e.keywordLocation).sort();
  const below = (prefix: string) => {
    let lo = 0;
    let hi = locations.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (locations[mid]! < prefix) lo = mid + 1;
      else hi = mid;
    }
    return lo < locations.length && locations[lo]!.startsWith(prefix);
  };
  const kept = units.filter((e, i) => {
    const next = units[i + 1];
    const wrapsFalse = next?.keyword === "false" && next.instanceLocation.startsWith(`${e.instanceLocation}/`);
    // An "if" error reports its then/else branch failing, whose own errors sit beside it, not below.
    const scopes = e.keyword === "if" ? ["then", "else"].map((k) => `${e.keywordLocation.slice(0, -3)}/${k}/`) : [`${e.keywordLocation}/`];
    return !wrapsFalse && !scopes.some(below);
  });
  return kept.map((e) => ({ pointer: pointerOf(e.instanceLocation), message: e.keyword === "false" ? "is not allowed by the schema" : e.error }));
}

/** Each subschema of a schema with its JSON pointer, following the 2020-12 applicator keywords. */
function* subschemas(schema: unknown, pointer = ""): Generator<[Json, string]> {
  if (!isObject(schema)) return;
  yield [schema, pointer];
  for (const [key, value] of Object.entries(schema)) {
    const at = `${pointer}/${escapePointer(key)}`;
    if (SINGLE.has(key)) yield* subschemas(value, at);
    else if (LIST.has(key) && Array.isArray(value)) for (const [i, s] of value.entries()) yield* subschemas(s, `${at}/${i}`);
    else if (MAP.has(key) && isObject(value)) for (const [name, s] of Object.entries(value)) yield* subschemas(s, `${at}/${escapePointer(name)}`);
  }
}
const SINGLE = new Set(["items", "contains", "additionalProperties", "propertyNames", "if", "then", "else", "not", "unevaluatedItems", "unevaluatedProperties", "contentSchema"]);
const LIST = new Set(["prefixItems", "allOf", "anyOf", "oneOf"]);
const MAP = new Set(["$defs", "definitions", "properties", "patternProperties", "dependentSchemas"]);

/** What RFC 8785 refuses (lone surrogates above all, which also break the validator's pointers), or null. */
function notJson(value: unknown): NotCanonicalJsonError | null {
  try {
    canonicalize(value);
    return null;
  } catch (err) {
    if (err instanceof NotCanonicalJsonError) return err;
    throw err;
  }
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split("\n")[0]!;

const acceptsObject = (type: unknown) => type === undefined || type === "object" || (Array.isArray(type) && type.includes("object"));

/** Why a schema that passed the meta-schema still cannot serve as parameters_schema, by pointer. */
function subsetFaults(schema: Json): { pointer: string; message: string }[] {
  const faults: { pointer: string; message: string }[] = [];
  if (!acceptsObject(schema.type)) faults.push({ pointer: "/type", message: "must allow \"object\": tool_params is a JSON object" });
  for (const [s, pointer] of subschemas(schema)) {
    if (s.$schema !== undefined && s.$schema !== DRAFT_2020_12) faults.push({ pointer: `${pointer}/$schema`, message: `only JSON Schema 2020-12 (${DRAFT_2020_12}) is accepted` });
    for (const key of ["$dynamicRef", "$dynamicAnchor"])
      if (s[key] !== undefined) faults.push({ pointer: `${pointer}/${key}`, message: `${key} is not supported: the validator does not evaluate dynamic references` });
  }
  if (faults.length) return faults;
  // dereference() records resolved URIs on the schema it is given: work on a copy.
  const resolved = structuredClone(schema);
  let lookup: Record<string, Schema | boolean>;
  try {
    lookup = dereference(resolved as Schema);
  } catch (err) {
    return [{ pointer: "", message: `cannot be resolved: ${firstLine(err)}` }];
  }
  for (const [s, pointer] of subschemas(resolved)) {
    const target = (s as Schema).__absolute_ref__;
    if (typeof s.$ref === "string" && (target === undefined || lookup[target] === undefined))
      faults.push({ pointer: `${pointer}/$ref`, message: `"${s.$ref}" does not resolve inside the schema (nothing is fetched)` });
  }
  if (faults.length) return faults;
  try {
    validate({}, resolved as Schema, "2020-12", lookup, false);
  } catch (err) {
    faults.push({ pointer: "", message: `cannot be evaluated: ${firstLine(err)}` });
  }
  return faults;
}

let metaLookup: Record<string, Schema | boolean> | undefined;

/** Faults of a tool's parameters_schema as given to the registry (`at` is its field path); empty means valid. */
export function parametersSchemaFaults(schema: unknown, at = "json.parametersSchema"): ParamsFault[] {
  const fault = (pointer: string, message: string): ParamsFault => ({ path: fieldPath(at, pointer), pointer, message: pointer ? `${message} (at ${pointer})` : message });
  if (Array.isArray(schema)) return schema.length ? [fault("", "must be a JSON Schema object; a list is accepted only empty ([]: the tool takes no parameters)")] : [];
  if (!isObject(schema)) return [fault("", "must be a JSON Schema object, or [] for a tool that takes no parameters")];
  const unstorable = notJson(schema);
  if (unstorable) return [fault(unstorable.pointer, unstorable.reason)];
  metaLookup ??= dereference(META_SCHEMA_2020_12);
  const meta = validate(schema, META_SCHEMA_2020_12, "2020-12", metaLookup, false);
  const faults = meta.valid ? subsetFaults(schema) : leafErrors(meta.errors);
  return faults.slice(0, MAX_FAULTS).map((f) => fault(f.pointer, f.message));
}

export interface ToolRef {
  name: string;
  /** As stored: a schema, or [] for none. */
  parametersSchema: unknown;
}

export interface TodoParams {
  key: string;
  /** The todo's position in the request, for the field path. */
  index: number;
  toolParams?: unknown;
}

/**
 * A checker of `tool_params` for one tool, built once and run on every todo that calls it.
 * Absent params are `{}` (the DDL default). Each fault names the todo key, the tool and the JSON
 * pointer inside the params, at `<at>.<index>.toolParams.<pointer as dots>`.
 */
export function toolParamsChecker(tool: ToolRef, at = "json.todos"): (todo: TodoParams) => ParamsFault[] {
  const stored = tool.parametersSchema;
  const none = Array.isArray(stored) && stored.length === 0;
  let schema: Schema | undefined;
  let lookup: Record<string, Schema | boolean> | undefined;
  if (isObject(stored) && parametersSchemaFaults(stored).length === 0) {
    schema = structuredClone(stored) as Schema;
    lookup = dereference(schema);
  }
  return ({ key, index, toolParams }) => {
    const base = `${at}.${index}.toolParams`;
    const fault = (pointer: string, message: string): ParamsFault => ({
      path: fieldPath(base, pointer),
      pointer,
      todo: key,
      tool: tool.name,
      message: `${message} (todo "${key}", tool "${tool.name}"${pointer ? `, at ${pointer}` : ""})`,
    });
    const params = toolParams ?? {};
    if (!isObject(params)) return [fault("", "must be a JSON object")];
    const unstorable = notJson(params);
    if (unstorable) return [fault(unstorable.pointer, unstorable.reason)];
    if (none) return Object.keys(params).slice(0, MAX_FAULTS).map((k) => fault(`/${escapePointer(k)}`, "is not a parameter: the tool takes none"));
    if (!schema || !lookup) return [{ ...fault("", "cannot be checked: the tool's parameters_schema is not a valid JSON Schema"), path: `${at}.${index}.toolName` }];
    try {
      const result = validate(params, schema, "2020-12", lookup, false);
      return leafErrors(result.errors).slice(0, MAX_FAULTS).map((e) => fault(e.pointer, e.message));
    } catch (err) {
      return [fault("", `cannot be checked: the tool's parameters_schema fails on this input (${firstLine(err)})`)];
    }
  };
}
