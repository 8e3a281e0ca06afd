import { describe, expect, it } from "vitest";
import { planDag } from "../../src/agent/dag";
import { diffTodos, type TodoSnapshot } from "../../src/agent/todo-diff";

const v1: TodoSnapshot[] = [
  { key: "fetch", title: "Fetch sales", layer: "data", priority: 5, toolName: "sql_query", toolParams: { table: "sales", limit: 10 }, dependsOn: [] },
  { key: "model", title: "Forecast", layer: "ml", priority: 5, toolName: "forecast", toolParams: {}, dependsOn: ["fetch"] },
  { key: "report", title: "Report", layer: "biz", priority: 3, dependsOn: ["model", "fetch"] },
];

describe("version diff", () => {
  it("lists added, removed and changed todos, field by field", () => {
    const v2: TodoSnapshot[] = [
      { ...v1[0]!, toolParams: { table: "sales", limit: 100 } },
      { key: "clean", title: "Clean", layer: "data", dependsOn: ["fetch"] },
      { ...v1[2]!, priority: 7, title: "Weekly report", dependsOn: ["clean", "fetch"] },
    ];
    expect(diffTodos(v1, v2)).toEqual({
      added: [v2[1]],
      removed: [v1[1]],
      changed: [
        { key: "fetch", changes: [{ field: "toolParams", from: { table: "sales", limit: 10 }, to: { table: "sales", limit: 100 } }] },
        {
          key: "report",
          changes: [
            { field: "dependsOn", from: ["model", "fetch"], to: ["clean", "fetch"] },
            { field: "priority", from: 3, to: 7 },
            { field: "title", from: "Report", to: "Weekly report" },
          ],
        },
      ],
    });
  });

  it("is empty between a snapshot and itself, and between snapshots that differ only in key or list order", () => {
    expect(diffTodos(v1, structuredClone(v1))).toEqual({ added: [], removed: [], changed: [] });
    const reordered: TodoSnapshot[] = [
      { ...v1[2]!, dependsOn: ["fetch", "model"] },
      { ...v1[1]! },
      { dependsOn: [], toolParams: { limit: 10, table: "sales" }, toolName: "sql_query", priority: 5, layer: "data", title: "Fetch sales", key: "fetch" },
    ];
    expect(diffTodos(v1, reordered)).toEqual({ added: [], removed: [], changed: [] });
  });

  it("treats an absent field and a null one alike, and reports a field that appears", () => {
    const from: TodoSnapshot[] = [{ key: "a", description: null }];
    expect(diffTodos(from, [{ key: "a" }]).changed).toEqual([]);
    expect(diffTodos(from, [{ key: "a", description: "now" }]).changed).toEqual([{ key: "a", changes: [{ field: "description", from: null, to: "now" }] }]);
    expect(diffTodos([{ key: "a", status: "pending" }], [{ key: "a" }]).changed).toEqual([{ key: "a", changes: [{ field: "status", from: "pending", to: null }] }]);
  });

  it("keeps array order meaningful outside dependency lists", () => {
    const diff = diffTodos([{ key: "a", toolParams: { cols: ["x", "y"] } }], [{ key: "a", toolParams: { cols: ["y", "x"] } }]);
    expect(diff.changed.map((c) => c.changes.map((f) => f.field))).toEqual([["toolParams"]]);
  });

  it("sees the execution order and blocks a replan recomputes", () => {
    const snapshot = (todos: TodoSnapshot[]) => {
      const result = planDag(todos);
      if (!result.ok) throw new Error("not a DAG");
      return result.todos;
    };
    const before = snapshot(v1);
    const after = snapshot([...v1.slice(0, 2), { ...v1[2]!, dependsOn: ["fetch"], priority: 9 }]);
    const report = diffTodos(before, after).changed.find((c) => c.key === "report")!;
    expect(report.changes.map((c) => c.field)).toEqual(["dependsOn", "executionOrder", "priority"]);
    expect(diffTodos(before, after).changed.find((c) => c.key === "model")!.changes).toEqual([
      { field: "blocks", from: ["report"], to: [] },
      { field: "executionOrder", from: 2, to: 3 },
    ]);
    // fetch still blocks the same two todos, now listed in the other order: no change.
    expect(diffTodos(before, after).changed.map((c) => c.key)).not.toContain("fetch");
  });
});
