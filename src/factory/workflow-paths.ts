/**
 * The `$.` path syntax of workflow mappings (docs/factory-workflows.md, "Paths"). A string value
 * starting with `$.` is a path into the runtime variables `{ input, global, nodes }`, where
 * `nodes.<id>` is `{ result, status }`: members by `.name`, array items by `[index]`, e.g.
 * `$.nodes.data_collect.result.rows[0].qty`. A string starting with `$$.` is the literal text
 * without its first `$`. A path to nothing resolves to null; substitution is of whole values only.
 */

export type PathSegment = string | number;

export interface RuntimeVariables {
  input: Record<string, unknown>;
  global: Record<string, unknown>;
  nodes: Record<string, { result: unknown; status: string }>;
}

const SEGMENT = /\.([A-Za-z0-9_-]+)|\[(0|[1-9][0-9]{0,8})\]/y;

/** The segments of a `$.` path, or null when the text is not one: the one parser of the validator (workflow-dsl.ts) and the engine. */
export function parsePath(text: string): PathSegment[] | null {
  if (!text.startsWith("$.")) return null;
  const segments: PathSegment[] = [];
  SEGMENT.lastIndex = 1;
  while (SEGMENT.lastIndex < text.length) {
    const at = SEGMENT.lastIndex;
    const m = SEGMENT.exec(text);
    if (!m || m.index !== at) return null;
    segments.push(m[1] !== undefined ? m[1] : Number(m[2]));
  }
  return segments.length ? segments : null;
}

/** The value at `segments`, own members only (a path never reaches a prototype), else null. */
export function valueAt(root: unknown, segments: readonly PathSegment[]): unknown {
  let value: unknown = root;
  for (const s of segments) {
    if (typeof s === "number") {
      if (!Array.isArray(value) || s >= value.length) return null;
      value = value[s];
    } else {
      if (value === null || typeof value !== "object" || Array.isArray(value) || !Object.hasOwn(value, s)) return null;
      value = (value as Record<string, unknown>)[s];
    }
  }
  return value === undefined ? null : value;
}

/** A mapping with every path replaced by its value, recursively through objects and arrays. */
export function resolveMapping(mapping: unknown, variables: RuntimeVariables): unknown {
  if (typeof mapping === "string") {
    if (mapping.startsWith("$$.")) return mapping.slice(1);
    if (!mapping.startsWith("$.")) return mapping;
    const segments = parsePath(mapping);
    return segments ? valueAt(variables, segments) : null;
  }
  if (Array.isArray(mapping)) return mapping.map((m) => resolveMapping(m, variables));
  if (mapping !== null && typeof mapping === "object") {
    return Object.fromEntries(Object.entries(mapping).map(([k, v]) => [k, resolveMapping(v, variables)]));
  }
  return mapping;
}
