import { z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { runAs } from "../platform/db";
import { JsonObject } from "../platform/input";
import { ApiError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { uuidParams } from "../platform/schemas";
import { agentRoute, requireAgentRole, WRITERS, type AgentRole } from "./access";
import { storeExecResult } from "./exec-cache";
import {
  approveTodo,
  askApprovals,
  blockDependents,
  claimTodos,
  closeEvents,
  completeTodo,
  failTodo,
  planOfTodo,
  reportProgress,
  selectTodo,
  settlePlans,
  settleTodo,
  todoState,
} from "./exec-sql";
import { unwait } from "./hitl-sql";
import { planState } from "./plan-sql";
import { Todo } from "./plans.routes";

const tags = ["agent"];
const IdParam = uuidParams("id");
const APPROVERS: readonly AgentRole[] = ["admin", "manager"];

const ClaimInput = z
  .object({ limit: z.int().min(1).max(50).default(1).openapi({ description: "Todos to claim at most (1–50, default 1)" }) })
  .strict()
  .openapi("AgentClaimInput");
const ProgressInput = z.object({ progress: z.int().min(0).max(100) }).strict().openapi("AgentProgressInput");
const Counts = {
  tokensUsed: z.int().min(0).max(100_000_000).optional(),
  apiCallsCount: z.int().min(0).max(1_000_000).optional(),
  executionTimeMs: z.int().min(0).max(2_147_483_647).optional().openapi({ description: "Default: since the claim" }),
  costUsd: z.number().min(0).max(9999.999999).optional(),
};
const CompleteInput = z
  .object({ resultData: JsonObject.optional(), outputPath: z.string().max(2000).optional(), ...Counts })
  .strict()
  .openapi("AgentCompleteInput");
const FailInput = z
  .object({ errorMessage: z.string().min(1).max(10_000), errorStack: z.string().max(100_000).optional(), ...Counts })
  .strict()
  .openapi("AgentFailInput");
const RejectInput = z.object({ reason: z.string().min(1).max(2000) }).strict().openapi("AgentRejectInput");

const claim = agentRoute(
  {
    method: "post",
    path: "/plans/{id}/claim",
    tags,
    summary: "Claim up to `limit` runnable todos of an executing (or waiting) plan (never the same todo twice)",
    request: { params: IdParam, body: jsonBody(ClaimInput, { required: false }) },
    responses: { 200: json(z.object({ items: z.array(Todo) }).openapi("AgentClaimed"), "The claimed todos, in execution order (maybe none)") },
  },
  403,
  404,
  409,
);

const todoRoute = (name: string, summary: string) =>
  agentRoute(
    { method: "post", path: `/todos/{id}/${name}`, tags, summary, request: { params: IdParam }, responses: { 200: json(Todo, "The todo") } },
    403,
    404,
    409,
  );
const todoBodyRoute = <T extends z.ZodType>(name: string, summary: string, body: T) =>
  agentRoute(
    { method: "post", path: `/todos/{id}/${name}`, tags, summary, request: { params: IdParam, body: jsonBody(body) }, responses: { 200: json(Todo, "The todo") } },
    403,
    404,
    409,
  );

/** Why a todo move matched nothing: not visible, or not in a state it moves from. */
function todoRefused(id: string, action: string, from: readonly string[], current: { status: string; planStatus: string } | undefined): ApiError {
  if (!current) return notFound(`todo ${id}`);
  return new ApiError(409, "invalid_state", `cannot ${action} todo ${id}: it is ${current.status} (${action} takes ${from.join(", ")})`, {
    currentStatus: current.status,
    planStatus: current.planStatus,
  });
}

const byId = (id: string) => sql`select ${id}::uuid`;

/** Registered on one router without a typed chain: with the plan routes, the chain's type grows past what tsc represents. */
export const execRoutes = createRouter();
execRoutes
  .openapi(claim, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, WRITERS, "claim todos");
    const { id } = c.req.valid("param");
    const { limit } = c.req.valid("json") ?? { limit: 1 };
    const [, claimed, state] = await runAs(db, principal, [askApprovals(db, id), claimTodos(db, id, limit ?? 1), planState(db, id)] as const);
    const plan = state[0];
    if (!plan) throw notFound(`plan ${id}`);
    if (plan.status !== "executing" && plan.status !== "waiting") throw new ApiError(409, "invalid_state", `cannot claim todos of plan ${id}: it is ${plan.status}`, { currentStatus: plan.status });
    return c.json({ items: claimed.sort((a, b) => (a.executionOrder ?? 0) - (b.executionOrder ?? 0)) }, 200);
  })
  .openapi(todoBodyRoute("progress", "Report an in-progress todo's progress (0–100)", ProgressInput), async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, WRITERS, "report progress");
    const { id } = c.req.valid("param");
    const { progress } = c.req.valid("json");
    const [moved, state] = await runAs(db, principal, [reportProgress(db, id, progress), todoState(db, id)] as const);
    if (!moved[0]) throw todoRefused(id, "report progress of", ["in_progress"], state[0]);
    return c.json(moved[0], 200);
  })
  .openapi(todoBodyRoute("complete", "Complete an in-progress todo: its result, tool run, tokens and the plan's counters in one batch", CompleteInput), async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, WRITERS, "complete a todo");
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    const [done, , todo, state] = await runAs(db, principal, [completeTodo(db, id, input), settlePlans(db, planOfTodo(id)), selectTodo(db, id), todoState(db, id)] as const);
    const completed = done.rows[0];
    if (!completed) throw todoRefused(id, "complete", ["in_progress"], state[0]);
    // §8.2: a cacheable tool's successful run is what the next executor looks up before running it.
    if (completed.toolName) {
      const tool = { name: completed.toolName, version: completed.toolVersion, cacheTtlSeconds: completed.cacheTtlSeconds };
      await storeExecResult(c.var.redis, c.var.config, tool, completed.organizationId, completed.toolParams ?? {}, {
        resultData: input.resultData ?? null,
        outputPath: input.outputPath,
        executionTimeMs: input.executionTimeMs ?? completed.elapsedMs,
        tokensUsed: input.tokensUsed,
        apiCallsCount: input.apiCallsCount,
      });
    }
    return c.json(todo[0]!, 200);
  })
  .openapi(todoBodyRoute("fail", "Report a failed attempt: retried with backoff until max_retries, then failed and its dependents blocked", FailInput), async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, WRITERS, "fail a todo");
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    const [done, , , todo, state] = await runAs(db, principal, [
      failTodo(db, id, input),
      blockDependents(db, byId(id)),
      settlePlans(db, planOfTodo(id)),
      selectTodo(db, id),
      todoState(db, id),
    ] as const);
    if (!done.rows[0]) throw todoRefused(id, "fail", ["in_progress"], state[0]);
    return c.json(todo[0]!, 200);
  })
  .openapi(todoRoute("skip", "Skip a todo that has not run: its dependents may run"), async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, WRITERS, "skip a todo");
    const { id } = c.req.valid("param");
    const from = ["pending", "needs_approval", "blocked"] as const;
    const [moved, , , , state] = await runAs(db, principal, [
      settleTodo(db, id, "skipped", from),
      closeEvents(db, id, "cancelled", { userId: principal.userId, decision: "skip" }),
      unwait(db, sql`(${planOfTodo(id)})`),
      settlePlans(db, planOfTodo(id)),
      todoState(db, id),
    ] as const);
    if (!moved[0]) throw todoRefused(id, "skip", from, state[0]);
    return c.json(moved[0], 200);
  })
  .openapi(todoRoute("cancel", "Cancel a todo: its waiting dependents are blocked"), async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, WRITERS, "cancel a todo");
    const { id } = c.req.valid("param");
    const from = ["pending", "needs_approval", "in_progress", "blocked"] as const;
    const [moved, , , , , state] = await runAs(db, principal, [
      settleTodo(db, id, "cancelled", from),
      closeEvents(db, id, "cancelled", { userId: principal.userId, decision: "cancel" }),
      unwait(db, sql`(${planOfTodo(id)})`),
      blockDependents(db, byId(id)),
      settlePlans(db, planOfTodo(id)),
      todoState(db, id),
    ] as const);
    if (!moved[0]) throw todoRefused(id, "cancel", from, state[0]);
    return c.json(moved[0], 200);
  })
  .openapi(todoRoute("approve", "Approve a todo awaiting approval (managers): it becomes runnable"), async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, APPROVERS, "approve a todo");
    const { id } = c.req.valid("param");
    const [moved, , state] = await runAs(db, principal, [
      approveTodo(db, id, principal.userId),
      closeEvents(db, id, "completed", { userId: principal.userId, decision: "approve" }),
      todoState(db, id),
    ] as const);
    if (!moved[0]) throw todoRefused(id, "approve", ["needs_approval"], state[0]);
    return c.json(moved[0], 200);
  })
  .openapi(todoBodyRoute("reject", "Reject a todo awaiting approval (managers): cancelled with the reason, its dependents blocked", RejectInput), async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, APPROVERS, "reject a todo");
    const { id } = c.req.valid("param");
    const { reason } = c.req.valid("json");
    const [moved, , , , state] = await runAs(db, principal, [
      settleTodo(db, id, "cancelled", ["needs_approval"], reason),
      closeEvents(db, id, "completed", { userId: principal.userId, decision: "reject", input: reason }),
      blockDependents(db, byId(id)),
      settlePlans(db, planOfTodo(id)),
      todoState(db, id),
    ] as const);
    if (!moved[0]) throw todoRefused(id, "reject", ["needs_approval"], state[0]);
    return c.json(moved[0], 200);
  });
