import { z } from "@hono/zod-openapi";
import { runAs } from "../platform/db";
import { JsonObject } from "../platform/input";
import { ApiError, fieldError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { uuidParams } from "../platform/schemas";
import { rowSchema } from "../platform/table-schema";
import { agentRoute, requireAgentRole, WRITERS, type AgentRole } from "./access";
import { applyEdit } from "./plan-edit";
import { MAX_TODOS, buildTodos, snapshotOf, toolNamesOf } from "./plan-build";
import { insertPlan, insertTodos, insertVersion, MOVES, movePlan, planState, selectPlan, selectSnapshots, selectTodos, selectVersions, sessionOwner, type Move } from "./plan-sql";
import { toolsFor } from "./plan-tools";
import { CHANGE_TYPES, plans, todos } from "./schema";
import { diffTodos, type TodoSnapshot } from "./todo-diff";

export const Plan = rowSchema(plans, { intent: JsonObject.nullable() }).openapi("AgentPlan");
export const Todo = rowSchema(todos, { toolParams: JsonObject.nullable(), inputData: JsonObject.nullable(), resultData: JsonObject.nullable() }).openapi("AgentTodo");
const PlanWithTodos = z.object({ plan: Plan, todos: z.array(Todo) }).openapi("AgentPlanWithTodos");

export const TodoInput = z
  .object({
    key: z.string().min(1).max(100).openapi({ description: "The client's name for the todo, unique in the plan; dependsOn names these" }),
    title: z.string().min(1).max(255),
    description: z.string().max(10_000).optional(),
    layer: z.string().min(1).max(50),
    priority: z.int().min(0).max(10).optional().openapi({ description: "0–10, 10 most urgent; default 5" }),
    toolName: z.string().min(1).max(100).optional(),
    toolParams: JsonObject.optional(),
    dependsOn: z.array(z.string().min(1).max(100)).max(MAX_TODOS).optional(),
    timeoutSeconds: z.int().min(1).max(86_400).optional(),
    maxRetries: z.int().min(0).max(10).optional(),
    requiresApproval: z.boolean().optional(),
    inputData: JsonObject.optional(),
  })
  .strict()
  .openapi("AgentTodoInput");

const PlanInput = z
  .object({
    intent: JsonObject.optional(),
    estimatedCost: z.number().min(0).max(99_999_999.99).optional(),
    estimatedDurationSeconds: z.int().min(0).max(2_147_483_647).optional(),
    todos: z.array(TodoInput).min(1).max(MAX_TODOS),
  })
  .strict()
  .openapi("AgentPlanInput");

const EditInput = z
  .object({
    changeType: z.enum(["user_edit", "replan"]).openapi({ description: "user_edit: a person changed it; replan: the planner made a new plan" }),
    changeReason: z.string().max(2000).optional(),
    todos: z.array(TodoInput).min(1).max(MAX_TODOS),
  })
  .strict()
  .openapi("AgentPlanEdit");

const Version = z
  .object({
    version: z.int(),
    changeType: z.enum(CHANGE_TYPES),
    changeReason: z.string().nullable(),
    changedBy: z.string().nullable(),
    createdAt: z.iso.datetime({ offset: true }).nullable(),
    todoCount: z.int(),
  })
  .openapi("AgentPlanVersion");
const FieldChange = z.object({ field: z.string(), from: z.unknown(), to: z.unknown() });
const Diff = z
  .object({
    from: z.int(),
    to: z.int(),
    added: z.array(z.record(z.string(), z.unknown())),
    removed: z.array(z.record(z.string(), z.unknown())),
    changed: z.array(z.object({ key: z.string(), changes: z.array(FieldChange) })),
  })
  .openapi("AgentPlanDiff");

const tags = ["agent"];
const IdParam = uuidParams("id");

const createPlan = agentRoute(
  {
    method: "post",
    path: "/sessions/{id}/plans",
    tags,
    summary: "Create a draft plan of todos in the caller's active session (version 1)",
    request: { params: IdParam, body: jsonBody(PlanInput) },
    responses: { 201: json(PlanWithTodos, "Created") },
  },
  403,
  404,
  409,
);
const getPlan = agentRoute(
  {
    method: "get",
    path: "/plans/{id}",
    tags,
    summary: "A plan and its todos in execution order",
    request: { params: IdParam },
    responses: { 200: json(PlanWithTodos, "The plan") },
  },
  404,
);
const listVersions = agentRoute(
  {
    method: "get",
    path: "/plans/{id}/versions",
    tags,
    summary: "A plan's versions, oldest first",
    request: { params: IdParam },
    responses: { 200: json(z.object({ items: z.array(Version) }).openapi("AgentPlanVersionList"), "Versions") },
  },
  404,
);
const VersionNumber = z.coerce.number().int().min(1).max(1_000_000);
const diffVersions = agentRoute(
  {
    method: "get",
    path: "/plans/{id}/versions/diff",
    tags,
    summary: "What changed between two versions of a plan (todos added, removed, changed field by field)",
    request: { params: IdParam, query: z.object({ from: VersionNumber, to: VersionNumber }) },
    responses: { 200: json(Diff, "The difference") },
  },
  404,
);

const editPlan = agentRoute(
  {
    method: "put",
    path: "/plans/{id}/todos",
    tags,
    summary: "Replace a plan's todo set (completed todos are kept) as a new version",
    request: { params: IdParam, body: jsonBody(EditInput) },
    responses: { 200: json(PlanWithTodos, "The plan at its new version") },
  },
  403,
  404,
  409,
);

/** Who may make each move: managers approve (plan review); any writer runs, pauses and cancels. */
const MOVE_ROLES: Record<keyof typeof MOVES, readonly AgentRole[]> = {
  approve: ["admin", "manager"],
  start: WRITERS,
  pause: WRITERS,
  resume: WRITERS,
  cancel: WRITERS,
};

/** First of the next month, UTC: when the month's token budget starts again. */
function nextMonthSeconds(now = new Date()): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
}

/** Why a move matched nothing: not visible, not in a state it moves from, or no tokens left this month. */
function moveRefused(id: string, name: string, move: Move, current: { status: string; tokensSpent: boolean } | undefined): ApiError {
  if (!current) return notFound(`plan ${id}`);
  if (move.needsTokens && move.from.includes(current.status as never) && current.tokensSpent) {
    return new ApiError(429, "monthly_tokens_exhausted", `plan ${id} cannot start executing: the organization has spent this month's tokens`, {}, { "Retry-After": String(nextMonthSeconds()) });
  }
  return new ApiError(409, "invalid_state", `cannot ${name} plan ${id}: it is ${current.status} (${name} moves it from ${move.from.join(", ")})`, { currentStatus: current.status });
}

export const planRoutes = createRouter()
  .openapi(createPlan, async (c) => {
    const { db, redis, config } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, WRITERS, "create a plan");
    const { id: sessionId } = c.req.valid("param");
    const input = c.req.valid("json");
    const names = toolNamesOf(input.todos);
    const tools = await toolsFor(db, redis, config, principal, names);
    const rows = buildTodos(input.todos, tools);
    const planId = crypto.randomUUID();
    const [, , , plan, stored, session] = await runAs(db, principal, [
      insertPlan(db, { id: planId, sessionId, ...input }, rows.length, names),
      insertTodos(db, planId, rows),
      insertVersion(db, planId, { version: 1, changeType: "create", changedBy: principal.userId, snapshot: rows.map((t) => snapshotOf(t)) }),
      selectPlan(db, planId),
      selectTodos(db, planId),
      sessionOwner(db, sessionId),
    ] as const);
    if (plan[0]) return c.json({ plan: plan[0], todos: stored }, 201);
    const current = session[0];
    if (!current) throw notFound(`session ${sessionId}`);
    if (current.userId !== principal.userId) throw new ApiError(403, "not_session_owner", "only the session's owner may plan in it");
    if (current.status !== "active") throw new ApiError(409, "invalid_state", `cannot plan in session ${sessionId}: it is ${current.status}`, { currentStatus: current.status });
    throw new ApiError(409, "tools_changed", "a tool the todos call was deactivated while the plan was being checked; retry");
  })
  .openapi(editPlan, async (c) => {
    const { db, redis, config } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, WRITERS, "edit a plan");
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    const { plan, todos: stored } = await applyEdit(db, redis, config, principal, id, input);
    return c.json({ plan, todos: stored }, 200);
  })
  .openapi(getPlan, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const [plan, stored] = await runAs(db, c.var.principal!, [selectPlan(db, id), selectTodos(db, id)] as const);
    if (!plan[0]) throw notFound(`plan ${id}`);
    return c.json({ plan: plan[0], todos: stored }, 200);
  })
  .openapi(listVersions, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const [plan, versions] = await runAs(db, c.var.principal!, [planState(db, id), selectVersions(db, id)] as const);
    if (!plan[0]) throw notFound(`plan ${id}`);
    return c.json({ items: versions.map((v) => ({ ...v, createdAt: v.createdAt?.toISOString() ?? null })) }, 200);
  })
  .openapi(diffVersions, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const { from, to } = c.req.valid("query");
    const [plan, snapshots] = await runAs(db, c.var.principal!, [planState(db, id), selectSnapshots(db, id, [from, to])] as const);
    if (!plan[0]) throw notFound(`plan ${id}`);
    const of = (v: number, path: string) => {
      const found = snapshots.find((s) => s.version === v);
      if (!found) throw fieldError(path, `plan ${id} has no version ${v} (its current version is ${plan[0]!.currentVersion})`);
      return found.todosSnapshot as TodoSnapshot[];
    };
    return c.json({ from, to, ...diffTodos(of(from, "query.from"), of(to, "query.to")) }, 200);
  });

for (const [name, move] of Object.entries(MOVES) as [keyof typeof MOVES, Move][]) {
  const route = agentRoute(
    {
      method: "post",
      path: `/plans/{id}/${name}`,
      tags,
      summary: `Move a plan from ${move.from.join(" / ")} to ${move.to}`,
      request: { params: IdParam },
      responses: { 200: json(Plan, "Moved") },
    },
    403,
    404,
    409,
  );
  planRoutes.openapi(route, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, MOVE_ROLES[name], `${name} a plan`);
    const { id } = c.req.valid("param");
    const [moved, state] = await runAs(db, principal, [movePlan(db, id, move), planState(db, id)] as const);
    if (!moved[0]) throw moveRefused(id, name, move, state[0]);
    return c.json(moved[0], 200);
  });
}
