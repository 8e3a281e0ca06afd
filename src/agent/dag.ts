import type { FieldError } from "../platform/problem";

/**
 * A plan's todos as a DAG (spec 002 §3.2–3.4): what refuses a todo set, the execution order and
 * `blocks`. Todos name each other by client key here; the same functions work on stored ids.
 */

/** The DDL's default priority; 10 is the most urgent. */
export const DEFAULT_PRIORITY = 5;

export interface DagTodo {
  key: string;
  priority?: number | null;
  dependsOn?: readonly string[] | null;
}

export type DagFaultKind = "duplicate_key" | "unknown_dependency" | "self_dependency" | "duplicate_dependency" | "cycle";

/** One refusal, shaped as a problem's field error, naming the todo (and, for a cycle, its path). */
export interface DagFault extends FieldError {
  kind: DagFaultKind;
  todo: string;
  cycle?: string[];
}

export type PlannedTodo<T extends DagTodo> = T & { dependsOn: string[]; blocks: string[]; executionOrder: number };

/** Every fault of a todo set; `at` is where the todos sit in the request. Empty means it is a DAG. */
function dagFaults(todos: readonly DagTodo[], at: string, outside: boolean): DagFault[] {
  const faults: DagFault[] = [];
  const indexOf = new Map<string, number>();
  todos.forEach((t, i) => {
    const first = indexOf.get(t.key);
    if (first === undefined) indexOf.set(t.key, i);
    else faults.push({ kind: "duplicate_key", todo: t.key, path: `${at}.${i}.key`, message: `duplicate todo key "${t.key}" (also ${at}.${first}.key)` });
  });
  todos.forEach((t, i) => {
    const seen = new Set<string>();
    (t.dependsOn ?? []).forEach((dep, j) => {
      const path = `${at}.${i}.dependsOn.${j}`;
      if (dep === t.key) faults.push({ kind: "self_dependency", todo: t.key, path, message: `todo "${t.key}" depends on itself` });
      else if (!indexOf.has(dep)) {
        if (!outside) faults.push({ kind: "unknown_dependency", todo: t.key, path, message: `todo "${t.key}" depends on unknown todo key "${dep}"` });
      }
      else if (seen.has(dep)) faults.push({ kind: "duplicate_dependency", todo: t.key, path, message: `todo "${t.key}" lists dependency "${dep}" twice` });
      seen.add(dep);
    });
  });
  // Cycles are only meaningful once every edge points at exactly one todo.
  return faults.length ? faults : cycleFaults(todos, indexOf, at);
}

/** Edges between the given todos; a dependency outside them (an edit's kept todo) is no edge. */
const edgesOf = (todos: readonly DagTodo[], indexOf: Map<string, number>): number[][] =>
  todos.map((t) => (t.dependsOn ?? []).flatMap((dep) => (indexOf.has(dep) ? [indexOf.get(dep)!] : [])));

/** One fault per strongly connected component of more than one todo, naming one cycle through it. */
function cycleFaults(todos: readonly DagTodo[], indexOf: Map<string, number>, at: string): DagFault[] {
  const edges = edgesOf(todos, indexOf);
  return stronglyConnected(edges)
    .filter((component) => component.length > 1)
    .map((component) => {
      const start = Math.min(...component);
      const keys = cycleThrough(start, new Set(component), edges).map((i) => todos[i]!.key);
      const key = todos[start]!.key;
      return { kind: "cycle" as const, todo: key, cycle: keys, path: `${at}.${start}.dependsOn`, message: `dependency cycle: ${keys.join(" → ")}` };
    })
    .sort((a, b) => indexOf.get(a.todo)! - indexOf.get(b.todo)!);
}

/** Tarjan's algorithm without recursion (a plan can be a long chain). */
function stronglyConnected(edges: number[][]): number[][] {
  const index: number[] = new Array(edges.length).fill(-1);
  const low: number[] = new Array(edges.length).fill(0);
  const onStack: boolean[] = new Array(edges.length).fill(false);
  const stack: number[] = [];
  const components: number[][] = [];
  let counter = 0;
  for (let root = 0; root < edges.length; root++) {
    if (index[root] !== -1) continue;
    const work: { v: number; next: number }[] = [];
    const visit = (v: number) => {
      index[v] = low[v] = counter++;
      stack.push(v);
      onStack[v] = true;
      work.push({ v, next: 0 });
    };
    visit(root);
    while (work.length) {
      const frame = work[work.length - 1]!;
      const out = edges[frame.v]!;
      if (frame.next < out.length) {
        const w = out[frame.next++]!;
        if (index[w] === -1) visit(w);
        else if (onStack[w]) low[frame.v] = Math.min(low[frame.v]!, index[w]!);
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low[parent.v] = Math.min(low[parent.v]!, low[frame.v]!);
      if (low[frame.v] === index[frame.v]) {
        const component: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = false;
          component.push(w);
        } while (w !== frame.v);
        components.push(component);
      }
    }
  }
  return components;
}

/** The shortest cycle from `start` back to it inside its component (breadth first), as a closed path. */
function cycleThrough(start: number, component: Set<number>, edges: number[][]): number[] {
  const parent = new Map<number, number>([[start, start]]);
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    for (const w of edges[queue[head]!]!) {
      if (component.has(w) && !parent.has(w)) {
        parent.set(w, queue[head]!);
        queue.push(w);
      }
    }
  }
  // The component is strongly connected, so some todo reached from `start` depends on it; the first
  // one reached breadth first closes the shortest cycle.
  const last = queue.find((v) => edges[v]!.includes(start))!;
  const path = [start];
  for (let u = last; u !== start; u = parent.get(u)!) path.splice(1, 0, u);
  return [...path, start];
}

export type PlanResult<T extends DagTodo> = { ok: true; todos: PlannedTodo<T>[] } | { ok: false; faults: DagFault[] };

/**
 * A todo set as a plan: refused with every fault, or each todo with its execution order and `blocks`.
 * Topological order (Kahn): of the todos whose dependencies are all placed, the highest priority goes
 * next; equal priorities keep the order the todos were given in. `executionOrder` counts from 1.
 * `blocks` is the exact inverse of `dependsOn`, in execution order.
 * `outside`: a dependency may name a todo not given (an edit's kept todos, which the database
 * knows); it counts as met for the order, and the caller checks that it exists.
 */
export function planDag<T extends DagTodo>(todos: readonly T[], at = "json.todos", { outside = false } = {}): PlanResult<T> {
  const faults = dagFaults(todos, at, outside);
  return faults.length ? { ok: false, faults } : { ok: true, todos: orderDag(todos) };
}

function orderDag<T extends DagTodo>(todos: readonly T[]): PlannedTodo<T>[] {
  const indexOf = new Map(todos.map((t, i) => [t.key, i]));
  const edges = edgesOf(todos, indexOf);
  const dependents: number[][] = todos.map(() => []);
  edges.forEach((deps, i) => deps.forEach((d) => dependents[d]!.push(i)));
  const waiting = edges.map((deps) => deps.length);
  const priority = todos.map((t) => t.priority ?? DEFAULT_PRIORITY);
  // Sorted so the next todo is the last element: lower priority first, later input first.
  const ready: number[] = [];
  const before = (a: number, b: number) => priority[a]! < priority[b]! || (priority[a] === priority[b] && a > b);
  const enqueue = (i: number) => {
    let lo = 0;
    let hi = ready.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(ready[mid]!, i)) lo = mid + 1;
      else hi = mid;
    }
    ready.splice(lo, 0, i);
  };
  waiting.forEach((n, i) => n === 0 && enqueue(i));
  const order: number[] = [];
  while (ready.length) {
    const i = ready.pop()!;
    order.push(i);
    for (const d of dependents[i]!) if (--waiting[d]! === 0) enqueue(d);
  }
  const position: number[] = [];
  order.forEach((i, n) => (position[i] = n + 1));
  return todos.map((t, i) => ({
    ...t,
    dependsOn: [...(t.dependsOn ?? [])],
    blocks: [...dependents[i]!].sort((a, b) => position[a]! - position[b]!).map((d) => todos[d]!.key),
    executionOrder: position[i]!,
  }));
}
