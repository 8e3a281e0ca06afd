import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "../platform/db";
import { columnsOf } from "../platform/table-schema";
import { snapshotOf, type TodoRow } from "./plan-build";
import { organizations, plans, planVersions, sessions, todos, tools, PLAN_STATUSES } from "./schema";

export type PlanStatus = (typeof PLAN_STATUSES)[number];

export interface NewPlan {
  id: string;
  sessionId: string;
  intent?: Record<string, unknown>;
  estimatedCost?: number;
  estimatedDurationSeconds?: number;
}

/** The tools the todos name, as the caller may see them (their own organization's and shared ones). */
export const toolsNamed = (db: Database, names: string[]) =>
  db
    .select({ id: tools.id, name: tools.name, parametersSchema: tools.parametersSchema, isActive: tools.isActive, organizationId: tools.organizationId })
    .from(tools)
    .where(inArray(tools.name, names));

/** Still active, every one of them: the write re-checks what the read saw. */
const toolsStillActive = (names: string[]) =>
  names.length
    ? sql`(select count(*) from agent.tools where name in (select jsonb_array_elements_text(${JSON.stringify(names)}::jsonb)) and is_active) = ${names.length}`
    : sql`true`;

/** The plan, into the caller's own active session, when the tools it names are still active; nothing otherwise. */
export function insertPlan(db: Database, plan: NewPlan, n: number, toolNames: string[]) {
  return db.execute(sql`
    insert into agent.plans (id, session_id, status, current_version, intent, total_todos, completed_todos, failed_todos,
                             estimated_cost, estimated_duration_seconds, organization_id)
    select ${plan.id}::uuid, s.id, 'draft', 1, ${plan.intent ? JSON.stringify(plan.intent) : null}::jsonb, ${n}, 0, 0,
           ${plan.estimatedCost ?? null}::numeric, ${plan.estimatedDurationSeconds ?? null}::int, s.organization_id
    from agent.sessions s
    where s.id = ${plan.sessionId}::uuid and s.status = 'active' and s.user_id = app.user_id() and ${toolsStillActive(toolNames)}`);
}

/** The todos of a plan this batch wrote or moved to `version` (none when it did not), from one JSON parameter. */
export function insertTodos(db: Database, planId: string, rows: TodoRow[], version = 1) {
  const records = rows.map((t) => ({
    id: t.id,
    title: t.title,
    description: t.description,
    priority: t.priority,
    layer: t.layer,
    tool_name: t.toolName,
    tool_params: t.toolParams,
    depends_on: t.dependsOnIds,
    blocks: t.blocksIds,
    timeout_seconds: t.timeoutSeconds,
    max_retries: t.maxRetries,
    requires_approval: t.requiresApproval,
    input_data: t.inputData,
    execution_order: t.executionOrder,
  }));
  return db.execute(sql`
    insert into agent.todos (id, plan_id, title, description, priority, layer, tool_name, tool_params, depends_on, blocks,
                             timeout_seconds, max_retries, requires_approval, input_data, execution_order, organization_id)
    select r.id, p.id, r.title, r.description, r.priority, r.layer, r.tool_name, coalesce(r.tool_params, '{}'), r.depends_on, r.blocks,
           r.timeout_seconds, r.max_retries, r.requires_approval, r.input_data, r.execution_order, p.organization_id
    from jsonb_to_recordset(${JSON.stringify(records)}::jsonb) as r(
           id uuid, title varchar, description text, priority int, layer varchar, tool_name varchar, tool_params jsonb,
           depends_on uuid[], blocks uuid[], timeout_seconds int, max_retries int, requires_approval boolean, input_data jsonb,
           execution_order int)
    join agent.plans p on p.id = ${planId}::uuid and p.current_version = ${version}`);
}

export interface NewVersion {
  version: number;
  changeType: "create" | "replan" | "user_edit" | "auto_adjust";
  changeReason?: string;
  changedBy: string;
  snapshot: ReturnType<typeof snapshotOf>[];
}

/** A version of a plan this batch wrote or changed (the plan must be at `version` already). */
export function insertVersion(db: Database, planId: string, v: NewVersion) {
  return db.execute(sql`
    insert into agent.plan_versions (plan_id, version, todos_snapshot, change_type, change_reason, changed_by, organization_id)
    select p.id, ${v.version}, ${JSON.stringify(v.snapshot)}::jsonb, ${v.changeType}, ${v.changeReason ?? null}, ${v.changedBy}, p.organization_id
    from agent.plans p where p.id = ${planId}::uuid and p.current_version = ${v.version}`);
}

export const selectPlan = (db: Database, id: string) => db.select(columnsOf(plans)).from(plans).where(eq(plans.id, id));

export const selectTodos = (db: Database, planId: string) =>
  db.select(columnsOf(todos)).from(todos).where(eq(todos.planId, planId)).orderBy(asc(todos.executionOrder), asc(todos.id));

/** The session as the caller sees it, to tell 404 (not visible), 403 (not theirs) and 409 (not active) apart. */
export const sessionOwner = (db: Database, id: string) =>
  db.select({ userId: sessions.userId, status: sessions.status }).from(sessions).where(eq(sessions.id, id));

/** The plan's status as the caller sees it, and whether its organization has spent the month's tokens. */
export const planState = (db: Database, id: string) =>
  db
    .select({
      status: plans.status,
      currentVersion: plans.currentVersion,
      tokensSpent: sql<boolean>`coalesce(${organizations.currentMonthTokens}, 0) >= coalesce(${organizations.maxMonthlyTokens}, 0)`,
    })
    .from(plans)
    .leftJoin(organizations, eq(organizations.id, plans.organizationId))
    .where(eq(plans.id, id));

const tokensLeft = sql`exists (select 1 from agent.organizations o where o.id = ${plans.organizationId}
                        and coalesce(o.current_month_tokens, 0) < coalesce(o.max_monthly_tokens, 0))`;

export interface Move {
  from: readonly PlanStatus[];
  to: PlanStatus;
  /** A move into `executing` needs tokens left this month. */
  needsTokens: boolean;
}

/** The moves a person makes (docs/agent.md, "Plan states"); completed and failed come from the todos. */
export const MOVES = {
  approve: { from: ["draft"], to: "approved", needsTokens: false },
  start: { from: ["approved"], to: "executing", needsTokens: true },
  pause: { from: ["executing", "waiting"], to: "paused", needsTokens: false },
  resume: { from: ["paused"], to: "executing", needsTokens: true },
  cancel: { from: ["draft", "approved", "executing", "paused", "waiting"], to: "cancelled", needsTokens: false },
} as const satisfies Record<string, Move>;

/** One conditional statement: the plan moves when it is in one of `from` (and, into executing, tokens are left). */
export function movePlan(db: Database, id: string, move: Move) {
  return db
    .update(plans)
    .set({
      status: move.to,
      updatedAt: sql`now()`,
      ...(move.to === "executing" ? { startedAt: sql`coalesce(${plans.startedAt}, now())` } : {}),
      ...(move.to === "cancelled" ? { completedAt: sql`now()` } : {}),
    })
    .where(and(eq(plans.id, id), inArray(plans.status, [...move.from]), move.needsTokens ? tokensLeft : undefined))
    .returning();
}

export const selectVersions = (db: Database, planId: string) =>
  db
    .select({
      version: planVersions.version,
      changeType: planVersions.changeType,
      changeReason: planVersions.changeReason,
      changedBy: planVersions.changedBy,
      createdAt: planVersions.createdAt,
      todoCount: sql<number>`jsonb_array_length(${planVersions.todosSnapshot})::int`,
    })
    .from(planVersions)
    .where(eq(planVersions.planId, planId))
    .orderBy(asc(planVersions.version));

export const selectSnapshots = (db: Database, planId: string, versions: number[]) =>
  db
    .select({ version: planVersions.version, todosSnapshot: planVersions.todosSnapshot })
    .from(planVersions)
    .where(and(eq(planVersions.planId, planId), inArray(planVersions.version, versions)));

/** Plans whose todo set may be replaced; an approved plan goes back to draft for another review. */
export const EDITABLE: readonly PlanStatus[] = ["draft", "approved", "paused", "waiting"];
