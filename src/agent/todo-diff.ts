import { canonicalize } from "../platform/canonical-json";

/**
 * The difference between two versions' `todos_snapshot` (GET …/versions/diff): todos matched by
 * their `key`, compared field by field as JSON values.
 */

export type TodoSnapshot = { key: string } & Record<string, unknown>;

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

export interface TodosDiff {
  added: TodoSnapshot[];
  removed: TodoSnapshot[];
  changed: { key: string; changes: FieldChange[] }[];
}

/** Lists of ids or keys whose order carries no meaning: reordering them is not a change. */
const SET_FIELDS: ReadonlySet<string> = new Set(["dependsOn", "blocks"]);

// An absent field and a null one are the same to a reader of the snapshot (jsonb keeps no undefined).
function comparable(field: string, value: unknown): string {
  if (value === undefined || value === null) return "null";
  if (SET_FIELDS.has(field) && Array.isArray(value)) return canonicalize([...value].map((v) => canonicalize(v)).sort());
  return canonicalize(value);
}

/**
 * Added todos in `to`'s order, removed in `from`'s, changed in `to`'s with their fields sorted by
 * name. A key that appears twice in one snapshot counts once, at its first appearance.
 */
export function diffTodos(from: readonly TodoSnapshot[], to: readonly TodoSnapshot[]): TodosDiff {
  const index = (list: readonly TodoSnapshot[]) => {
    const byKey = new Map<string, TodoSnapshot>();
    for (const t of list) if (!byKey.has(t.key)) byKey.set(t.key, t);
    return byKey;
  };
  const before = index(from);
  const after = index(to);
  const changed: TodosDiff["changed"] = [];
  for (const [key, next] of after) {
    const prev = before.get(key);
    if (!prev) continue;
    const fields = [...new Set([...Object.keys(prev), ...Object.keys(next)])].filter((f) => f !== "key").sort();
    const changes = fields
      .filter((f) => comparable(f, prev[f]) !== comparable(f, next[f]))
      .map((field) => ({ field, from: prev[field] ?? null, to: next[field] ?? null }));
    if (changes.length) changed.push({ key, changes });
  }
  return {
    added: [...after.values()].filter((t) => !before.has(t.key)),
    removed: [...before.values()].filter((t) => !after.has(t.key)),
    changed,
  };
}
