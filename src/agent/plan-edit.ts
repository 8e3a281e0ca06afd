import type { BatchItem } from "drizzle-orm/batch";
import type { Principal } from "../platform/auth";
import { runAs, type Database } from "../platform/db";
import { ApiError, notFound } from "../platform/problem";
import { buildTodos, snapshotOf, toolNamesOf, withKept, type TodoInput } from "./plan-build";
import { bumpVersion, deleteReplaced, detachReplaced, EDITABLE, editState, insertTodos, insertVersion, placeKept, planState, selectPlan, selectTodos, todoStates, toolsNamed } from "./plan-sql";

export interface Edit {
  changeType: "user_edit" | "replan";
  changeReason?: string;
  todos: TodoInput[];
}

/**
 * Replaces a plan's todo set as a new version, keeping completed todos (docs/agent.md, "Editing"):
 * a read, then a write guarded by the version read, so two round trips. `alongside` joins the
 * write batch after the edit's statements (an answered edit event); it must guard itself on the
 * edit having happened; its results come back as `alongside`.
 */
export async function applyEdit(db: Database, principal: Principal, id: string, input: Edit, alongside: BatchItem<"pg">[] = []) {
  const names = toolNamesOf(input.todos);
  const [state, current, tools] = await runAs(db, principal, [editState(db, id), todoStates(db, id), toolsNamed(db, names)] as const);
  const plan = state[0];
  if (!plan) throw notFound(`plan ${id}`);
  const version = plan.currentVersion ?? 1;
  if (!EDITABLE.includes(plan.status)) {
    throw new ApiError(409, "invalid_state", `cannot edit plan ${id}: it is ${plan.status} (editable: ${EDITABLE.join(", ")})`, { currentStatus: plan.status });
  }
  if (current.some((t) => t.status === "in_progress")) throw new ApiError(409, "todos_in_progress", `cannot edit plan ${id} while a todo is in progress; pause it and let executors finish`);
  const completedIds = new Set(current.filter((t) => t.status === "completed").map((t) => t.id));
  const completed = ((plan.snapshot ?? []) as ReturnType<typeof snapshotOf>[]).filter((t) => completedIds.has(t.id));
  const kept = new Map(completed.map((t) => [t.key, t.id]));
  const rows = buildTodos(withKept(input.todos, completed), tools, kept);
  const next = version + 1;
  const fresh = rows.filter((t) => !kept.has(t.key));
  const keptRows = rows.filter((t) => kept.has(t.key));
  const keep = keptRows.map((t) => t.id);
  const results = await runAs(db, principal, [
    bumpVersion(db, id, version, rows.length, keptRows.length, names),
    detachReplaced(db, id, keep, next),
    deleteReplaced(db, id, keep, next),
    placeKept(db, id, keptRows, next),
    insertTodos(db, id, fresh, next),
    insertVersion(db, id, {
      version: next,
      changeType: input.changeType,
      changeReason: input.changeReason,
      changedBy: principal.userId,
      snapshot: rows.map((t) => snapshotOf(t, kept.has(t.key) ? "completed" : "pending")),
    }),
    ...alongside,
    selectPlan(db, id),
    selectTodos(db, id),
    planState(db, id),
  ] as const);
  const moved = results[0] as Awaited<ReturnType<typeof bumpVersion>>;
  const [after, stored, now] = results.slice(-3) as [Awaited<ReturnType<typeof selectPlan>>, Awaited<ReturnType<typeof selectTodos>>, Awaited<ReturnType<typeof planState>>];
  if (moved[0]) return { plan: after[0]!, todos: stored, alongside: results.slice(6, -3) as unknown[] };
  throw new ApiError(409, "plan_changed", `plan ${id} changed while the edit was checked (now version ${now[0]?.currentVersion ?? "?"}, ${now[0]?.status ?? "gone"}); retry`, {
    currentStatus: now[0]?.status ?? null,
  });
}
