/** §5.4 `circular_dependency`: script functions calling each other in a cycle. */
import type { Program } from "./ast";
import { resolveEntry } from "./run";
import { walk } from "./walk";

export type Severity = "low" | "medium" | "high" | "critical";

export interface CallCycle {
  /** The cycle as a call path that returns to its start, e.g. ["a", "b", "a"]. */
  path: string[];
  /** high: several functions, reachable from the entry; medium: a function calling itself, reachable; low: not reachable from the entry. */
  severity: Severity;
  reachable: boolean;
}

/** User functions calling each other in a cycle: one cycle per strongly connected group of functions. */
export function callCycles(program: Program, entry?: string | null): CallCycle[] {
  const graph = new Map<string, string[]>();
  for (const name of program.fnOrder) {
    const callees: string[] = [];
    walk(program.fns.get(name)!.body, (e) => {
      if (e.k === "call" && program.fns.has(e.name) && !callees.includes(e.name)) callees.push(e.name);
    });
    graph.set(name, callees);
  }
  const root = resolveEntry(program, entry);
  const reachable = new Set<string>();
  const starts = root === "main" ? topLevelCalls(program) : root ? [root.name] : [];
  const todo = [...starts];
  while (todo.length) {
    const f = todo.pop()!;
    if (reachable.has(f)) continue;
    reachable.add(f);
    todo.push(...(graph.get(f) ?? []));
  }
  return stronglyConnected(program.fnOrder, graph)
    .filter((group) => group.length > 1 || graph.get(group[0]!)!.includes(group[0]!))
    .map((group): CallCycle => {
      const path = cyclePath(group, graph);
      const isReachable = reachable.has(group[0]!);
      return { path, reachable: isReachable, severity: !isReachable ? "low" : group.length > 1 ? "high" : "medium" };
    });
}

function topLevelCalls(program: Program): string[] {
  const out: string[] = [];
  walk(program.main, (e) => {
    if (e.k === "call" && program.fns.has(e.name)) out.push(e.name);
  });
  return out;
}

// Tarjan's algorithm, iterative over the (small) set of functions; groups keep source order.
function stronglyConnected(nodes: string[], graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const groups: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      groups.push(group.sort((a, b) => nodes.indexOf(a) - nodes.indexOf(b)));
    }
  };
  for (const n of nodes) if (!index.has(n)) visit(n);
  return groups;
}

/** A shortest call path from the group's first function back to itself (breadth-first). */
function cyclePath(group: string[], graph: Map<string, string[]>): string[] {
  const start = group[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!group.includes(w)) continue;
      if (w === start) {
        const path: string[] = [];
        for (let x = v; x !== start; x = prev.get(x)!) path.unshift(x);
        return [start, ...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}
