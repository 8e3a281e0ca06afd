/**
 * The `$.` path syntax of node mappings (docs/factory-workflows.md, "Execution"). A string that
 * starts with `$.` is a path into `{ input, global, nodes }` (nodes.<id> = { result, status }):
 * dot-separated keys and `[n]` array indexes, e.g. `$.nodes.data_collect.result.rows[0].qty`.
 * A path to nothing resolves to null. `$$.` escapes: `$$.x` is the literal text `$.x`. Only whole
 * values are substituted (no interpolation inside longer strings). Objects and arrays are walked,
 * so a path may sit at any depth of a mapping.
 */

export interface PathScope {
  input: Record<string, unknown>;
  global: Record<string, unknown>;
  nodes: Record<string, { result: unknown; status: string }>;
}

const SEGMENT = /^(?:\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\])/;

/** The segments of a path after `$`, or null when it is not well formed. */
export function parsePath(path: string): (string | number)[] | null {
  if (!path.startsWith("$.")) return null;
  const segments: (string | number)[] = [];
  let rest = path.slice(1);
  while (rest.length) {
    const m = SEGMENT.exec(rest);
    if (!m) return null;
    segments.push(m[1] !== undefined ? m[1] : Number(m[2]));
    rest = rest.slice(m[0].length);
  }
  return segments.length ? segments : null;
}

/** The value a path names, null when any step of it is missing (or the path is malformed). */
export function resolvePath(path: string, scope: PathScope): unknown {
  const segments = parsePath(path);
  if (!segments) return null;
  let value: unknown = scope;
  for (const s of segments) {
    if (value === null || typeof value !== "object") return null;
    if (typeof s === "number" ? !Array.isArray(value) : Array.isArray(value) || !Object.hasOwn(value, s)) return null;
    value = (value as Record<string | number, unknown>)[s];
  }
  return value === undefined ? null : value;
}

/** A mapping with every `$.` string replaced by what it names and every `$$.` string unescaped. */
export function resolveMapping(mapping: unknown, scope: PathScope): unknown {
  if (typeof mapping === "string") {
    if (mapping.startsWith("$$.")) return mapping.slice(1);
    if (mapping.startsWith("$.")) return resolvePath(mapping, scope);
    return mapping;
  }
  if (Array.isArray(mapping)) return mapping.map((m) => resolveMapping(m, scope));
  if (mapping && typeof mapping === "object") {
    return Object.fromEntries(Object.entries(mapping).map(([k, v]) => [k, resolveMapping(v, scope)]));
  }
  return mapping;
}
