import { describe, expect, it } from "vitest";
import {
  countersOf,
  dependentsOf,
  failureOutcome,
  planOutcome,
  readyTodos,
  rejectionOutcome,
  RETRY_BASE_SECONDS,
  RETRY_MAX_SECONDS,
  retryDelaySeconds,
  timedOut,
  TODO_STATUSES,
  type TodoState,
  type TodoStatus,
} from "../../src/agent/dag-runtime";

const T0 = new Date("2026-11-26T10:00:00Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

let order = 0;
const todo = (id: string, status: TodoStatus, dependsOn: string[] = [], extra: Partial<TodoState> = {}): TodoState => ({
  id,
  status,
  dependsOn,
  executionOrder: ++order,
  requiresApproval: false,
  approvedAt: null,
  retryCount: 0,
  maxRetries: 3,
  updatedAt: T0,
  startedAt: null,
  timeoutSeconds: 300,
  ...extra,
});

/**
 *   a ─▶ b ─▶ d ─▶ e
 *   c ──────▶ d        f (independent)
 */
const diamond = (statuses: Partial<Record<string, TodoStatus>> = {}, extra: Partial<Record<string, Partial<TodoState>>> = {}) => {
  const s = (id: string) => statuses[id] ?? "pending";
  return [
    todo("a", s("a"), [], extra.a),
    todo("b", s("b"), ["a"], extra.b),
    todo("c", s("c"), [], extra.c),
    todo("d", s("d"), ["b", "c"], extra.d),
    todo("e", s("e"), ["d"], extra.e),
    todo("f", s("f"), [], extra.f),
  ];
};

describe("runnable todos", () => {
  it("are the pending ones whose dependencies are all completed or skipped, in execution order", () => {
    expect(readyTodos(diamond(), T0).runnable).toEqual(["a", "c", "f"]);
    expect(readyTodos(diamond({ a: "completed", c: "in_progress", f: "completed" }), T0).runnable).toEqual(["b"]);
    expect(readyTodos(diamond({ a: "completed", b: "skipped", c: "completed", f: "completed" }), T0).runnable).toEqual(["d"]);
  });

  it("follow execution order, not the order the rows came in", () => {
    const todos = [todo("late", "pending", [], { executionOrder: 9 }), todo("early", "pending", [], { executionOrder: 2 })];
    expect(readyTodos(todos, T0).runnable).toEqual(["early", "late"]);
  });

  it("exclude a todo whose dependency failed, was cancelled, is blocked or is missing", () => {
    for (const status of ["failed", "cancelled", "blocked", "needs_approval", "in_progress", "pending"] as const) {
      expect(readyTodos([todo("a", status), todo("b", "pending", ["a"])], T0).runnable).not.toContain("b");
    }
    expect(readyTodos([todo("b", "pending", ["gone"])], T0).runnable).toEqual([]);
  });

  it("hold back a todo that requires approval until it has one", () => {
    const waiting = diamond({ a: "completed" }, { b: { requiresApproval: true } });
    expect(readyTodos(waiting, T0)).toEqual({ runnable: ["c", "f"], needsApproval: ["b"] });
    const approved = diamond({ a: "completed" }, { b: { requiresApproval: true, approvedAt: T0 } });
    expect(readyTodos(approved, T0)).toEqual({ runnable: ["b", "c", "f"], needsApproval: [] });
  });

  it("ask for approval only once the todo's dependencies are done", () => {
    expect(readyTodos(diamond({}, { b: { requiresApproval: true } }), T0).needsApproval).toEqual([]);
  });

  it("hold back a retried todo until its backoff has passed", () => {
    const todos = [todo("r", "pending", [], { retryCount: 2, updatedAt: T0 })];
    expect(readyTodos(todos, at(59)).runnable).toEqual([]);
    expect(readyTodos(todos, at(60)).runnable).toEqual(["r"]);
  });
});

describe("failure and retries", () => {
  it("backs off 30 s, 60 s, 120 s … up to 10 minutes", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 10].map(retryDelaySeconds)).toEqual([0, 30, 60, 120, 240, 480, 600, 600]);
    expect(RETRY_BASE_SECONDS).toBe(30);
    expect(RETRY_MAX_SECONDS).toBe(600);
  });

  it("sends a failed attempt back to pending with one more retry while retries remain", () => {
    const todos = diamond({ a: "in_progress" }, { a: { retryCount: 1, maxRetries: 3 } });
    expect(failureOutcome(todos[0]!, todos, at(5))).toEqual({ status: "pending", retryCount: 2, notBefore: at(65) });
  });

  it("runs a todo at most 1 + max_retries times, then fails it and blocks everything that waits on it", () => {
    let todos = diamond({ c: "completed", f: "in_progress" }, { a: { maxRetries: 2 } });
    let attempts = 0;
    for (;;) {
      const a = todos[0]!;
      expect(readyTodos(todos, at(10_000)).runnable).toContain("a");
      attempts++;
      const outcome = failureOutcome({ ...a, status: "in_progress" }, todos, at(attempts));
      if (outcome.status === "failed") {
        expect(outcome).toEqual({ status: "failed", retryCount: 2, blocked: ["b", "d", "e"] });
        break;
      }
      todos = todos.map((t) => (t.id === "a" ? { ...t, status: "pending", retryCount: outcome.retryCount, updatedAt: at(attempts) } : t));
    }
    expect(attempts).toBe(3);
  });

  it("with max_retries 0 fails at the first failure", () => {
    const todos = [todo("x", "in_progress", [], { maxRetries: 0 }), todo("y", "pending", ["x"])];
    expect(failureOutcome(todos[0]!, todos, T0)).toEqual({ status: "failed", retryCount: 0, blocked: ["y"] });
  });

  it("blocks transitive dependents that still wait, and leaves settled or unrelated todos alone", () => {
    const todos = diamond({ a: "in_progress", d: "needs_approval", e: "blocked" }, { a: { maxRetries: 0 } });
    const outcome = failureOutcome(todos[0]!, todos, T0);
    expect(outcome.status).toBe("failed");
    // e is already blocked; c and f do not depend on a.
    expect(outcome.status === "failed" && outcome.blocked).toEqual(["b", "d"]);
  });

  it("finds every transitive dependent once, even where paths join", () => {
    const todos = [todo("s", "pending"), todo("l", "pending", ["s"]), todo("r", "pending", ["s"]), todo("j", "pending", ["l", "r"]), todo("k", "pending", ["j", "s"])];
    expect(dependentsOf(todos, "s").map((t) => t.id)).toEqual(["l", "r", "j", "k"]);
    expect(dependentsOf(todos, "k")).toEqual([]);
  });
});

describe("timeouts", () => {
  it("fail an in-progress todo once timeout_seconds have passed since it started", () => {
    const running = todo("t", "in_progress", [], { startedAt: T0, timeoutSeconds: 300 });
    expect(timedOut(running, at(299))).toBe(false);
    expect(timedOut(running, at(300))).toBe(true);
    expect(timedOut({ ...running, status: "pending" }, at(900))).toBe(false);
    expect(timedOut({ ...running, startedAt: null }, at(900))).toBe(false);
  });
});

describe("a rejected approval", () => {
  it("cancels the todo and blocks what waits on it, while independent branches go on", () => {
    const todos = diamond({ a: "completed", b: "needs_approval" }, { b: { requiresApproval: true } });
    expect(rejectionOutcome(todos, "b")).toEqual({ status: "cancelled", blocked: ["d", "e"] });
    const after = todos.map((t) => ({ ...t, status: ({ b: "cancelled", d: "blocked", e: "blocked" } as Record<string, TodoStatus>)[t.id] ?? t.status }));
    expect(readyTodos(after, T0).runnable).toEqual(["c", "f"]);
  });
});

describe("how a plan ends by itself", () => {
  const plan = (...statuses: TodoStatus[]) => statuses.map((status) => ({ status }));

  it("completes when every todo is completed or skipped", () => {
    expect(planOutcome(plan("completed", "skipped", "completed"))).toBe("completed");
    expect(planOutcome(plan("completed", "completed"))).toBe("completed");
  });

  it("goes on while any todo is pending, in progress or awaiting approval, even after a failure", () => {
    for (const open of ["pending", "in_progress", "needs_approval"] as const) {
      expect(planOutcome(plan("completed", "failed", open))).toBeNull();
    }
  });

  it("fails when nothing is left to run and a todo failed, was cancelled or is blocked", () => {
    expect(planOutcome(plan("completed", "failed", "blocked"))).toBe("failed");
    expect(planOutcome(plan("skipped", "cancelled"))).toBe("failed");
    expect(planOutcome(plan("blocked"))).toBe("failed");
  });

  it("decides every status combination of two todos by the documented rule", () => {
    for (const x of TODO_STATUSES) {
      for (const y of TODO_STATUSES) {
        const done = (s: TodoStatus) => s === "completed" || s === "skipped";
        const open = (s: TodoStatus) => s === "pending" || s === "in_progress" || s === "needs_approval";
        const expected = done(x) && done(y) ? "completed" : open(x) || open(y) ? null : "failed";
        expect(planOutcome(plan(x, y)), `${x} + ${y}`).toBe(expected);
      }
    }
  });
});

describe("counters", () => {
  it("count all todos, the completed ones and the failed ones", () => {
    expect(countersOf(diamond({ a: "completed", b: "failed", c: "skipped", d: "blocked", e: "completed" }))).toEqual({
      totalTodos: 6,
      completedTodos: 2,
      failedTodos: 1,
    });
    expect(countersOf([])).toEqual({ totalTodos: 0, completedTodos: 0, failedTodos: 0 });
  });
});
