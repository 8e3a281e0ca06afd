/**
 * The rules that move a plan's todos while it executes (spec 002 §3.4–3.5, §9): what is runnable,
 * what a failure, a timeout or a rejected approval does, and when the plan ends by itself. Pure:
 * the routes and crons apply the result in their one batch.
 */

export const TODO_STATUSES = ["pending", "in_progress", "completed", "failed", "blocked", "skipped", "needs_approval", "cancelled"] as const;
export type TodoStatus = (typeof TODO_STATUSES)[number];

export interface TodoState {
  id: string;
  status: TodoStatus;
  dependsOn: readonly string[];
  executionOrder: number;
  requiresApproval: boolean;
  approvedAt: Date | null;
  retryCount: number;
  maxRetries: number;
  /** When the todo last changed: a retried todo waits its backoff from here. */
  updatedAt: Date;
  startedAt: Date | null;
  timeoutSeconds: number;
}

/** A dependency in one of these lets its dependents run. */
const DONE: ReadonlySet<TodoStatus> = new Set(["completed", "skipped"]);
/** A todo in one of these still has work ahead of it. */
const OPEN: ReadonlySet<TodoStatus> = new Set(["pending", "in_progress", "needs_approval"]);
/** What a failed, cancelled or rejected todo moves to `blocked` among its dependents. */
const BLOCKABLE: ReadonlySet<TodoStatus> = new Set(["pending", "needs_approval"]);

export const RETRY_BASE_SECONDS = 30;
export const RETRY_MAX_SECONDS = 600;

/** Wait before retry number `retryCount` (1 = the first retry): 30 s, 60 s, 120 s, … at most 10 min. */
export const retryDelaySeconds = (retryCount: number): number =>
  retryCount <= 0 ? 0 : Math.min(RETRY_BASE_SECONDS * 2 ** (retryCount - 1), RETRY_MAX_SECONDS);

/** When a pending todo may be claimed again after a failure (its `updatedAt` is when it failed). */
export const retryNotBefore = (todo: Pick<TodoState, "updatedAt" | "retryCount">): Date =>
  new Date(todo.updatedAt.getTime() + retryDelaySeconds(todo.retryCount) * 1000);

const byOrder = (a: TodoState, b: TodoState) => a.executionOrder - b.executionOrder;

function dependenciesDone(todo: TodoState, byId: Map<string, TodoState>): boolean {
  return todo.dependsOn.every((id) => {
    const dep = byId.get(id);
    return dep !== undefined && DONE.has(dep.status);
  });
}

export interface Ready {
  /** Claimable now, in execution order. */
  runnable: string[];
  /** Ready but for a person's approval: these move to `needs_approval` and open an approval request. */
  needsApproval: string[];
}

/**
 * Pending todos whose dependencies are all completed or skipped. A todo that requires approval and
 * has none waits for it; a retried todo waits out its backoff.
 */
export function readyTodos(todos: readonly TodoState[], now: Date): Ready {
  const byId = new Map(todos.map((t) => [t.id, t]));
  const ready = todos.filter((t) => t.status === "pending" && dependenciesDone(t, byId)).sort(byOrder);
  const awaiting = (t: TodoState) => t.requiresApproval && t.approvedAt === null;
  return {
    runnable: ready.filter((t) => !awaiting(t) && retryNotBefore(t) <= now).map((t) => t.id),
    needsApproval: ready.filter(awaiting).map((t) => t.id),
  };
}

/** Every todo that depends on `id` directly or through others, in execution order. */
export function dependentsOf(todos: readonly TodoState[], id: string): TodoState[] {
  const dependents = new Map<string, TodoState[]>();
  for (const t of todos) {
    for (const dep of t.dependsOn) {
      const list = dependents.get(dep);
      if (list) list.push(t);
      else dependents.set(dep, [t]);
    }
  }
  const found = new Map<string, TodoState>();
  const queue = [id];
  for (let head = 0; head < queue.length; head++) {
    for (const d of dependents.get(queue[head]!) ?? []) {
      if (found.has(d.id) || d.id === id) continue;
      found.set(d.id, d);
      queue.push(d.id);
    }
  }
  return [...found.values()].sort(byOrder);
}

/** The dependents a todo that will never complete leaves without a way to run: they become `blocked`. */
export const dependentsToBlock = (todos: readonly TodoState[], id: string): string[] =>
  dependentsOf(todos, id)
    .filter((t) => BLOCKABLE.has(t.status))
    .map((t) => t.id);

export type FailureOutcome =
  | { status: "pending"; retryCount: number; notBefore: Date }
  | { status: "failed"; retryCount: number; blocked: string[] };

/**
 * A failed attempt (an executor's report or a timeout): back to pending with one more retry while
 * `retryCount` < `maxRetries` (so a todo runs at most 1 + max_retries times), else failed and every
 * dependent still waiting for it blocked.
 */
export function failureOutcome(todo: TodoState, todos: readonly TodoState[], now: Date): FailureOutcome {
  if (todo.retryCount < todo.maxRetries) {
    const retryCount = todo.retryCount + 1;
    return { status: "pending", retryCount, notBefore: retryNotBefore({ updatedAt: now, retryCount }) };
  }
  return { status: "failed", retryCount: todo.retryCount, blocked: dependentsToBlock(todos, todo.id) };
}

/**
 * A rejected approval: the todo is cancelled (its `rejection_reason` kept) and its waiting dependents
 * blocked, since they would run on work a person refused. Independent branches go on.
 */
export const rejectionOutcome = (todos: readonly TodoState[], id: string) =>
  ({ status: "cancelled", blocked: dependentsToBlock(todos, id) }) as const;

/** An in-progress todo whose `timeout_seconds` have passed since it started: it fails by the retry rule. */
export const timedOut = (todo: TodoState, now: Date): boolean =>
  todo.status === "in_progress" && todo.startedAt !== null && todo.startedAt.getTime() + todo.timeoutSeconds * 1000 <= now.getTime();

/**
 * How an executing plan ends by itself: `completed` when every todo is completed or skipped;
 * `failed` when no todo has work ahead of it (none pending, in progress or awaiting approval) and
 * at least one failed, was cancelled or is blocked; otherwise null (it goes on).
 */
export function planOutcome(todos: readonly Pick<TodoState, "status">[]): "completed" | "failed" | null {
  if (todos.every((t) => DONE.has(t.status))) return "completed";
  if (todos.some((t) => OPEN.has(t.status))) return null;
  return "failed";
}

/** The plan's counters as its todos make them. */
export const countersOf = (todos: readonly Pick<TodoState, "status">[]) => ({
  totalTodos: todos.length,
  completedTodos: todos.filter((t) => t.status === "completed").length,
  failedTodos: todos.filter((t) => t.status === "failed").length,
});
