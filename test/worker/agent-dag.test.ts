import { describe, expect, it } from "vitest";
import { DEFAULT_PRIORITY, planDag, type DagFault, type DagTodo, type PlannedTodo } from "../../src/agent/dag";
import { ApiError, fieldErrors } from "../../src/platform/problem";

const faultsOf = (todos: DagTodo[]): DagFault[] => {
  const result = planDag(todos);
  if (result.ok) throw new Error("expected the todo set to be refused");
  return result.faults;
};
const planned = <T extends DagTodo>(todos: T[]): PlannedTodo<T>[] => {
  const result = planDag(todos);
  if (!result.ok) throw new Error(`expected a DAG, got ${result.faults.map((f) => f.message).join("; ")}`);
  return result.todos;
};
const orderOf = (todos: PlannedTodo<DagTodo>[]) => [...todos].sort((a, b) => a.executionOrder - b.executionOrder).map((t) => t.key);

/** A small seeded generator so a failing random case can be replayed. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random DAG: todo i may only depend on todos generated before it (then shuffled). */
function randomDag(seed: number, n: number): DagTodo[] {
  const rnd = random(seed);
  const todos = Array.from({ length: n }, (_, i) => {
    const deps = new Set<string>();
    for (let j = 0; j < i; j++) if (rnd() < 3 / (i + 1)) deps.add(`t${j}`);
    return { key: `t${i}`, priority: Math.floor(rnd() * 11), dependsOn: [...deps] };
  });
  for (let i = todos.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [todos[i], todos[j]] = [todos[j]!, todos[i]!];
  }
  return todos;
}

describe("plan refusals", () => {
  it("names an unknown dependency by todo key and field path", () => {
    const faults = faultsOf([{ key: "fetch" }, { key: "report", dependsOn: ["fetch", "summarise"] }]);
    expect(faults).toEqual([
      { kind: "unknown_dependency", todo: "report", path: "json.todos.1.dependsOn.1", message: 'todo "report" depends on unknown todo key "summarise"' },
    ]);
  });

  it("refuses a todo that depends on itself", () => {
    const faults = faultsOf([{ key: "a", dependsOn: ["a"] }]);
    expect(faults.map((f) => [f.kind, f.todo, f.path])).toEqual([["self_dependency", "a", "json.todos.0.dependsOn.0"]]);
    expect(faults[0]!.message).toBe('todo "a" depends on itself');
  });

  it("refuses duplicate keys, naming both places", () => {
    const faults = faultsOf([{ key: "a" }, { key: "b" }, { key: "a" }]);
    expect(faults).toHaveLength(1);
    expect(faults[0]).toMatchObject({ kind: "duplicate_key", todo: "a", path: "json.todos.2.key" });
    expect(faults[0]!.message).toContain("json.todos.0.key");
  });

  it("refuses a dependency listed twice, so blocks can be its exact inverse", () => {
    const faults = faultsOf([{ key: "a" }, { key: "b", dependsOn: ["a", "a"] }]);
    expect(faults.map((f) => [f.kind, f.path])).toEqual([["duplicate_dependency", "json.todos.1.dependsOn.1"]]);
  });

  it("reports every structural fault at once, under the given field path", () => {
    const result = planDag([{ key: "x", dependsOn: ["x", "nope"] }, { key: "x" }], "json.replacement");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.faults.map((f) => f.path).sort()).toEqual(["json.replacement.0.dependsOn.0", "json.replacement.0.dependsOn.1", "json.replacement.1.key"]);
  });

  it("names a cycle's path, starting from its first todo in the request", () => {
    const faults = faultsOf([
      { key: "load" },
      { key: "b", dependsOn: ["c", "load"] },
      { key: "c", dependsOn: ["d"] },
      { key: "d", dependsOn: ["b"] },
    ]);
    expect(faults).toEqual([
      { kind: "cycle", todo: "b", cycle: ["b", "c", "d", "b"], path: "json.todos.1.dependsOn", message: "dependency cycle: b → c → d → b" },
    ]);
  });

  it("names one cycle per tangle, each a real path of dependencies, shortest through its first todo", () => {
    const todos = [
      { key: "a", dependsOn: ["b"] },
      { key: "b", dependsOn: ["c", "a"] },
      { key: "c", dependsOn: ["a"] },
      { key: "free" },
      { key: "x", dependsOn: ["y", "free"] },
      { key: "y", dependsOn: ["x"] },
    ];
    const faults = faultsOf(todos);
    expect(faults.map((f) => f.cycle)).toEqual([
      ["a", "b", "a"],
      ["x", "y", "x"],
    ]);
    const deps = new Map(todos.map((t) => [t.key, t.dependsOn ?? []]));
    for (const f of faults) for (let i = 0; i + 1 < f.cycle!.length; i++) expect(deps.get(f.cycle![i]!)).toContain(f.cycle![i + 1]);
  });

  it("finds cycles in random graphs with one back edge added, and only there", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const todos = randomDag(seed, 30);
      expect(planDag(todos).ok).toBe(true);
      const withDeps = todos.filter((t) => t.dependsOn!.length > 0);
      const victim = withDeps[seed % withDeps.length]!;
      const target = todos.find((t) => t.key === victim.dependsOn![0])!;
      target.dependsOn = [...target.dependsOn!, victim.key];
      const faults = faultsOf(todos);
      expect(faults.length).toBeGreaterThanOrEqual(1);
      const deps = new Map(todos.map((t) => [t.key, t.dependsOn!]));
      for (const f of faults) {
        expect(f.kind).toBe("cycle");
        expect(f.cycle![0]).toBe(f.cycle!.at(-1));
        for (let i = 0; i + 1 < f.cycle!.length; i++) expect(deps.get(f.cycle![i]!)).toContain(f.cycle![i + 1]);
      }
      expect(faults.some((f) => f.cycle!.includes(victim.key) && f.cycle!.includes(target.key))).toBe(true);
    }
  });

  it("handles a chain of 20 000 todos without recursion limits, both as a DAG and as a cycle", () => {
    const chain = Array.from({ length: 20_000 }, (_, i) => ({ key: `k${i}`, dependsOn: i ? [`k${i - 1}`] : [] }));
    expect(orderOf(planned(chain)).slice(0, 3)).toEqual(["k0", "k1", "k2"]);
    chain[0]!.dependsOn = ["k19999"];
    const [fault] = faultsOf(chain);
    expect(fault!.cycle).toHaveLength(20_001);
  });

  it("becomes a 422 problem listing every fault as a field error", () => {
    const err = fieldErrors(faultsOf([{ key: "a", dependsOn: ["b"] }, { key: "c", dependsOn: ["d", "e", "f"] }]));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(422);
    expect(err.code).toBe("validation_failed");
    expect((err.extensions.errors as { path: string }[]).map((e) => e.path)).toEqual([
      "json.todos.0.dependsOn.0",
      "json.todos.1.dependsOn.0",
      "json.todos.1.dependsOn.1",
      "json.todos.1.dependsOn.2",
    ]);
    expect(err.detail).toContain('unknown todo key "b"');
    expect(err.detail).toMatch(/\(and 1 more\)$/);
  });
});

describe("execution order", () => {
  it("puts the higher priority first among todos whose dependencies are placed, then the request's order", () => {
    const todos = planned([
      { key: "extract", priority: 5 },
      { key: "urgent", priority: 9 },
      { key: "transform", priority: 10, dependsOn: ["extract"] },
      { key: "side", priority: 5 },
      { key: "default" },
    ]);
    // transform (10) waits for extract; extract, side and default tie at 5 and keep the request's order.
    expect(orderOf(todos)).toEqual(["urgent", "extract", "transform", "side", "default"]);
    expect(todos.map((t) => t.executionOrder)).toEqual([2, 1, 3, 4, 5]);
  });

  it("uses the DDL default priority for a todo that gives none", () => {
    expect(DEFAULT_PRIORITY).toBe(5);
    expect(orderOf(planned([{ key: "low", priority: 4 }, { key: "unset" }, { key: "high", priority: 6 }]))).toEqual(["high", "unset", "low"]);
  });

  it("is a topological order that always takes the best ready todo, on random graphs", () => {
    for (let seed = 100; seed < 140; seed++) {
      const todos = randomDag(seed, 40);
      const result = planned(todos);
      const byKey = new Map(result.map((t) => [t.key, t]));
      expect(result.map((t) => t.executionOrder).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      for (const t of result) for (const d of t.dependsOn) expect(byKey.get(d)!.executionOrder).toBeLessThan(t.executionOrder);
      // Replay: at each step, no other ready todo beats the chosen one.
      const index = new Map(todos.map((t, i) => [t.key, i]));
      const placed = new Set<string>();
      for (const key of orderOf(result)) {
        const chosen = byKey.get(key)!;
        const ready = result.filter((t) => !placed.has(t.key) && t.dependsOn.every((d) => placed.has(d)));
        for (const other of ready) {
          const better = other.priority! > chosen.priority! || (other.priority === chosen.priority && index.get(other.key)! < index.get(key)!);
          expect(better, `${other.key} should not beat ${key}`).toBe(false);
        }
        placed.add(key);
      }
    }
  });

  it("is stable: the same todo set always gets the same order", () => {
    const todos = randomDag(7, 60);
    expect(orderOf(planned(todos))).toEqual(orderOf(planned(structuredClone(todos))));
  });
});

describe("blocks", () => {
  it("is the exact inverse of dependsOn, in execution order", () => {
    const todos = planned([
      { key: "a" },
      { key: "late", priority: 0, dependsOn: ["a"] },
      { key: "early", priority: 9, dependsOn: ["a"] },
      { key: "c", dependsOn: ["early", "late"] },
    ]);
    const byKey = new Map(todos.map((t) => [t.key, t]));
    expect(byKey.get("a")!.blocks).toEqual(["early", "late"]);
    expect(byKey.get("early")!.blocks).toEqual(["c"]);
    expect(byKey.get("c")!.blocks).toEqual([]);
  });

  it("pairs every edge exactly once on random graphs", () => {
    for (let seed = 200; seed < 220; seed++) {
      const todos = planned(randomDag(seed, 35));
      const edges = (pairs: [string, string][]) => pairs.map((p) => p.join(">")).sort();
      const fromDeps = todos.flatMap((t) => t.dependsOn.map((d) => [d, t.key] as [string, string]));
      const fromBlocks = todos.flatMap((t) => t.blocks.map((b) => [t.key, b] as [string, string]));
      expect(edges(fromBlocks)).toEqual(edges(fromDeps));
    }
  });

  it("keeps every other field of the todo as given", () => {
    const [todo] = planned([{ key: "a", title: "Fetch", layer: "data", toolParams: { q: 1 }, requiresApproval: true }]);
    expect(todo).toEqual({ key: "a", title: "Fetch", layer: "data", toolParams: { q: 1 }, requiresApproval: true, dependsOn: [], blocks: [], executionOrder: 1 });
  });
});
