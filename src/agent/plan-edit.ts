import { sql } from "drizzle-orm";
import type { Redis } from "@upstash/redis/cloudflare";
import type { Principal } from "../platform/auth";
import type { Config } from "../platform/config";
import { runAs, type Database } from "../platform/db";
import { ApiError, fieldErrors, notFound } from "../platform/problem";
import { proposeTodos, toolNamesOf, type TodoInput } from "./plan-build";
import { applyWrittenEdit, editVerdict, writeEdit, type EditSource } from "./plan-edit-sql";
import { EDITABLE, selectPlan, selectTodos } from "./plan-sql";
import { toolsFor } from "./plan-tools";

export interface Edit {
  changeType: "user_edit" | "replan";
  changeReason?: string;
  todos: TodoInput[];
}

/**
 * Replaces a plan's todo set as a new version, keeping completed todos (docs/agent.md, "Editing"):
 * checked in the Worker (tools from the tool cache), then one batch that writes guarded on the
 * version it reads and reads why when it wrote nothing.
 */
export async function applyEdit(db: Database, redis: Redis, config: Config, principal: Principal, id: string, input: Edit) {
  const tools = await toolsFor(db, redis, config, principal, toolNamesOf(input.todos));
  const proposed = proposeTodos(input.todos, tools);
  const source: EditSource = {
    planId: sql`${id}::uuid`,
    proposed: sql`${JSON.stringify(proposed)}::jsonb`,
    changeType: sql`${input.changeType}`,
    changeReason: sql`${input.changeReason ?? null}::text`,
    toolUsable: sql`t.is_active`,
  };
  const [written, , , , , plan, stored, verdict] = await runAs(db, principal, [
    writeEdit(db, source, principal.userId),
    ...applyWrittenEdit(db, source.planId),
    selectPlan(db, id),
    selectTodos(db, id),
    editVerdict(db, source),
  ] as const);
  if (written.rows[0] && plan[0]) return { plan: plan[0], todos: stored };
  throw editRefused(id, verdict.rows[0], input.todos, "json.todos");
}

type Verdict = Awaited<ReturnType<typeof editVerdict>>["rows"][number];

/** Why an edit wrote nothing, most telling first; `todos` and `at` locate a dependency the plan lacks. */
export function editRefused(planId: string, verdict: Verdict | undefined, todos: readonly Pick<TodoInput, "key" | "dependsOn">[], at: string): ApiError {
  if (!verdict) return notFound(`plan ${planId}`);
  if (!(EDITABLE as readonly string[]).includes(verdict.status)) {
    return new ApiError(409, "invalid_state", `cannot edit plan ${planId}: it is ${verdict.status} (editable: ${EDITABLE.join(", ")})`, { currentStatus: verdict.status });
  }
  if (verdict.in_progress) return new ApiError(409, "todos_in_progress", `cannot edit plan ${planId} while a todo is in progress; pause it and let executors finish`);
  if (verdict.unknown.length) {
    return fieldErrors(
      verdict.unknown.map(({ key, dep }) => {
        const i = todos.findIndex((t) => t.key === key);
        const j = todos[i]?.dependsOn?.indexOf(dep) ?? -1;
        return { path: `${at}.${i}.dependsOn.${j}`, message: `todo "${key}" depends on unknown todo key "${dep}" (neither in the set nor a completed todo of the plan)` };
      }),
    );
  }
  if (verdict.tools.length) {
    return new ApiError(409, "tools_changed", `tools changed since the todos were checked: ${verdict.tools.join(", ")} (deactivated or updated); retry`, { tools: verdict.tools });
  }
  return new ApiError(409, "plan_changed", `plan ${planId} changed while the edit was being written; retry`, { currentStatus: verdict.status });
}
