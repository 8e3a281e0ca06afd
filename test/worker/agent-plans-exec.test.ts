import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import worker from "../../functions/worker";
import { executionResults, hitlEvents, organizations, plans, todos, toolExecutions } from "../../src/agent/schema";
import { runAs } from "../../src/platform/db";
import { EVERY_MINUTE } from "../../src/platform/system";
import { call, expectProblem, roundTrips, testEnv } from "./helpers";
import { inputHash } from "../../src/platform/canonical-json";
import { as, db, provisioned, rawRedis } from "./agent-helpers";
import { claim, createPlan, executingPlan, onTodo, planWorld, sharedTool, todo } from "./agent-plans-helpers";

const service = () => as(null, crypto.randomUUID(), ["service"]);
const read = async (planId: string) =>
  runAs(db, service(), [
    db.select().from(plans).where(eq(plans.id, planId)),
    db.select().from(todos).where(eq(todos.planId, planId)),
    db.select().from(executionResults).where(eq(executionResults.planId, planId)),
    db.select().from(hitlEvents).where(eq(hitlEvents.planId, planId)),
  ] as const);
const statusOf = async (planId: string) => Object.fromEntries((await read(planId))[1].map((t) => [t.title.replace(/^do /, ""), t.status]));
/** Moves a todo's clock back, as if `seconds` had passed since it last changed (or started). */
const age = (id: string, seconds: number) =>
  runAs(db, service(), [
    db.update(todos).set({ updatedAt: sql`${todos.updatedAt} - make_interval(secs => ${seconds})`, startedAt: sql`${todos.startedAt} - make_interval(secs => ${seconds})` }).where(eq(todos.id, id)),
  ] as const);
const runCron = async () => {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: EVERY_MINUTE, scheduledTime: Date.now() }), testEnv as never, ctx);
  await waitOnExecutionContext(ctx);
};

describe("agent plan execution", () => {
  it("claims runnable todos in execution order, completes them with results, tool runs, tokens and counters; the plan completes by itself", async () => {
    const w = await planWorld();
    const tool = await sharedTool({ type: "object" });
    const { planId, ids } = await executingPlan(w, [todo("a", { toolName: tool, toolParams: { q: 1 } }), todo("b", { dependsOn: ["a"] }), todo("c", { priority: 1 })]);

    const first = await claim(w, planId, 5);
    expect(first.status).toBe(200);
    expect(await roundTrips(first.requestId)).toMatchObject({ neon: 1 });
    expect(first.body.items.map((t: any) => t.id)).toEqual([ids.a, ids.c]);
    expect(first.body.items[0]).toMatchObject({ status: "in_progress", progressPercentage: 0 });
    expect((await claim(w, planId, 5)).body.items).toEqual([]);

    const progress = await onTodo(w.owner.bearer, ids.a!, "progress", { progress: 40 });
    expect(progress.body.progressPercentage).toBe(40);
    expect(await roundTrips(progress.requestId)).toMatchObject({ neon: 1 });
    expectProblem(await onTodo(w.owner.bearer, ids.a!, "progress", { progress: 101 }), 422, "validation_failed");

    const done = await onTodo(w.owner.bearer, ids.a!, "complete", { resultData: { rows: 3 }, outputPath: "s3://out/a", tokensUsed: 120, apiCallsCount: 2, executionTimeMs: 1500, costUsd: 0.25 });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(await roundTrips(done.requestId)).toMatchObject({ neon: 1 });
    expect(done.body).toMatchObject({ status: "completed", resultData: { rows: 3 }, outputPath: "s3://out/a", progressPercentage: 100 });
    expectProblem(await onTodo(w.owner.bearer, ids.a!, "complete", {}), 409, "invalid_state");
    // §8.2: the tool's result is cached under the exact key, and the next executor's lookup hits without Postgres.
    const cacheKey = `exec_cache:${tool}:${await inputHash({ q: 1 })}`;
    expect(JSON.parse((await rawRedis.get<string>(cacheKey))!)).toMatchObject({ toolName: tool, organizationId: w.orgId, resultData: { rows: 3 }, executionTimeMs: 1500, tokensUsed: 120 });
    expect(await rawRedis.ttl(cacheKey)).toBeGreaterThan(3500);
    const hit = await call("POST", "/api/v1/agent/exec-cache/lookup", { token: w.owner.bearer, body: { toolName: tool, params: { q: 1 } } });
    expect(hit.body).toMatchObject({ hit: true, result: { resultData: { rows: 3 } } });
    expect(await roundTrips(hit.requestId)).toMatchObject({ neon: 0 });

    const [[plan], , results] = await read(planId);
    expect(plan).toMatchObject({ status: "executing", totalTodos: 3, completedTodos: 1, failedTodos: 0, actualDurationSeconds: 2, actualCost: "0.25" });
    expect(results).toEqual([expect.objectContaining({ todoId: ids.a, success: true, tokensUsed: 120, apiCallsCount: 2, executionTimeMs: 1500, toolName: tool, toolVersion: "1.0.0", sessionId: w.sessionId })]);
    const [runs, [org]] = await runAs(db, service(), [
      db.select().from(toolExecutions).where(eq(toolExecutions.todoId, ids.a!)),
      db.select().from(organizations).where(eq(organizations.id, w.orgId)),
    ] as const);
    expect(runs).toEqual([expect.objectContaining({ toolName: tool, success: true, inputParams: { q: 1 }, outputData: { rows: 3 }, tokensUsed: 120 })]);
    expect(org!.currentMonthTokens).toBe(120);

    const second = await claim(w, planId, 5);
    expect(second.body.items.map((t: any) => t.id)).toEqual([ids.b]);
    await onTodo(w.owner.bearer, ids.b!, "complete", { tokensUsed: 5 });
    expect((await read(planId))[0][0]!.status).toBe("executing");
    await onTodo(w.owner.bearer, ids.c!, "complete", {});
    const [[finished]] = await read(planId);
    expect(finished).toMatchObject({ status: "completed", completedTodos: 3 });
    expect(finished!.completedAt).not.toBeNull();
    expectProblem(await claim(w, planId), 409, "invalid_state");
  });

  it("claims at most `limit` todos", async () => {
    const w = await planWorld();
    const { planId, ids } = await executingPlan(w, [todo("a"), todo("b"), todo("c"), todo("d")]);
    for (let i = 0; i < 3; i++) {
      const one = await claim(w, planId, 1);
      expect(one.body.items).toHaveLength(1);
    }
    expect(await statusOf(planId)).toEqual({ a: "in_progress", b: "in_progress", c: "in_progress", d: "pending" });
    expect((await claim(w, planId, 2)).body.items.map((t: any) => t.id)).toEqual([ids.d]);
  });

  it("never gives one todo to two concurrent claims", async () => {
    const w = await planWorld();
    const { planId } = await executingPlan(w, Array.from({ length: 12 }, (_, i) => todo(`t${i}`)));
    const claims = await Promise.all(Array.from({ length: 4 }, () => claim(w, planId, 5)));
    const claimed = claims.flatMap((r) => r.body.items.map((t: any) => t.id));
    expect(claims.every((r) => r.status === 200)).toBe(true);
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed).toHaveLength(12);
    const rows = (await read(planId))[1];
    expect(rows.every((t) => t.status === "in_progress")).toBe(true);
  });

  it("retries a failed todo after its backoff, then fails it and blocks its dependents; the plan fails once nothing is open", async () => {
    const w = await planWorld();
    const { planId, ids } = await executingPlan(w, [todo("a", { maxRetries: 1 }), todo("b", { dependsOn: ["a"], requiresApproval: true }), todo("c", { dependsOn: ["b"] }), todo("d")]);
    await claim(w, planId, 1);
    const retry = await onTodo(w.owner.bearer, ids.a!, "fail", { errorMessage: "API down", executionTimeMs: 10 });
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    expect(await roundTrips(retry.requestId)).toMatchObject({ neon: 1 });
    expect(retry.body).toMatchObject({ status: "pending", retryCount: 1, errorMessage: "API down" });
    // The 30 s backoff holds it back; d is claimable.
    expect((await claim(w, planId, 5)).body.items.map((t: any) => t.id)).toEqual([ids.d]);
    await age(ids.a!, 29);
    expect((await claim(w, planId, 5)).body.items).toEqual([]);
    await age(ids.a!, 2);
    expect((await claim(w, planId, 5)).body.items.map((t: any) => t.id)).toEqual([ids.a]);
    const failed = await onTodo(w.owner.bearer, ids.a!, "fail", { errorMessage: "still down" });
    expect(failed.body).toMatchObject({ status: "failed", retryCount: 1 });
    expect(await statusOf(planId)).toEqual({ a: "failed", b: "blocked", c: "blocked", d: "in_progress" });
    // The scheduler's change is a version of its own, naming the todos it blocked.
    const versions = await call("GET", `/api/v1/agent/plans/${planId}/versions`, { token: w.owner.bearer });
    expect(versions.body.items.map((v: any) => [v.version, v.changeType, v.changeReason, v.changedBy])).toEqual([
      [1, "create", null, w.owner.userId],
      [2, "auto_adjust", "blocked: b, c", "scheduler"],
    ]);
    const diff = await call("GET", `/api/v1/agent/plans/${planId}/versions/diff?from=1&to=2`, { token: w.owner.bearer });
    const changes = diff.body.changed.map((c: any) => [c.key, c.changes.map((f: any) => `${f.field}: ${f.to}`)]).sort();
    expect(changes).toEqual([["a", ["status: failed"]], ["b", ["status: blocked"]], ["c", ["status: blocked"]], ["d", ["status: in_progress"]]]);
    const [[running], , results] = await read(planId);
    expect(running).toMatchObject({ status: "executing", failedTodos: 1 });
    expect(results.filter((r) => !r.success).map((r) => r.errorMessage)).toEqual(expect.arrayContaining(["API down", "still down"]));
    await onTodo(w.owner.bearer, ids.d!, "complete", {});
    expect((await read(planId))[0][0]).toMatchObject({ status: "failed", completedTodos: 1, failedTodos: 1 });
  });

  it("asks for approval when a todo that requires it is ready; managers approve or reject (dependents blocked)", async () => {
    const w = await planWorld();
    const { planId, ids, manager } = await executingPlan(w, [todo("a", { requiresApproval: true }), todo("b", { dependsOn: ["a"] }), todo("x", { requiresApproval: true }), todo("y", { dependsOn: ["x"] })]);
    expect((await claim(w, planId, 5)).body.items).toEqual([]);
    const [, rows, , events] = await read(planId);
    expect(rows.filter((t) => t.status === "needs_approval").map((t) => t.id).sort()).toEqual([ids.a, ids.x].sort());
    expect(events.map((e) => [e.todoId, e.eventType, e.status]).sort()).toEqual([[ids.a, "approval_request", "pending"], [ids.x, "approval_request", "pending"]].sort());
    expect((await claim(w, planId, 5)).body.items).toEqual([]);
    expect((await read(planId))[3]).toHaveLength(2);

    expectProblem(await onTodo(w.owner.bearer, ids.a!, "approve"), 403, "agent_role_required");
    const approved = await onTodo(manager.bearer, ids.a!, "approve");
    expect(approved.body).toMatchObject({ status: "pending", approvedBy: manager.userId });
    expect(approved.body.approvedAt).not.toBeNull();
    expect(await roundTrips(approved.requestId)).toMatchObject({ neon: 1 });
    expectProblem(await onTodo(manager.bearer, ids.a!, "approve"), 409, "invalid_state");
    expect((await claim(w, planId, 5)).body.items.map((t: any) => t.id)).toEqual([ids.a]);

    const rejected = await onTodo(manager.bearer, ids.x!, "reject", { reason: "too risky" });
    expect(rejected.body).toMatchObject({ status: "cancelled", rejectionReason: "too risky" });
    expect(await roundTrips(rejected.requestId)).toMatchObject({ neon: 1 });
    expect(await statusOf(planId)).toMatchObject({ x: "cancelled", y: "blocked", a: "in_progress", b: "pending" });
    const events2 = (await read(planId))[3];
    expect(events2.map((e) => [e.todoId, e.status, e.userDecision]).sort()).toEqual([[ids.a, "completed", "approve"], [ids.x, "completed", "reject"]].sort());
  });

  it("skips (dependents may run) and cancels (dependents blocked) todos", async () => {
    const w = await planWorld();
    const { planId, ids } = await executingPlan(w, [todo("a"), todo("b", { dependsOn: ["a"] }), todo("c"), todo("d", { dependsOn: ["c"] })]);
    const skipped = await onTodo(w.owner.bearer, ids.a!, "skip");
    expect(skipped.body.status).toBe("skipped");
    expect(await roundTrips(skipped.requestId)).toMatchObject({ neon: 1 });
    const cancelled = await onTodo(w.owner.bearer, ids.c!, "cancel");
    expect(cancelled.body.status).toBe("cancelled");
    expect(await roundTrips(cancelled.requestId)).toMatchObject({ neon: 1 });
    expect(await statusOf(planId)).toEqual({ a: "skipped", b: "pending", c: "cancelled", d: "blocked" });
    expectProblem(await onTodo(w.owner.bearer, ids.c!, "skip"), 409, "invalid_state");
    const [b] = (await claim(w, planId, 5)).body.items;
    expect(b.id).toBe(ids.b);
    await onTodo(w.owner.bearer, ids.b!, "complete", {});
    expect((await read(planId))[0][0]).toMatchObject({ status: "failed", completedTodos: 1, failedTodos: 0 });
  });

  it("times out in-progress todos through the cron with the same retry rule", async () => {
    const w = await planWorld();
    const { planId, ids } = await executingPlan(w, [todo("a", { timeoutSeconds: 60, maxRetries: 1 }), todo("b", { dependsOn: ["a"] }), todo("c", { timeoutSeconds: 60 })]);
    await claim(w, planId, 5);
    await age(ids.a!, 61);
    await runCron();
    let [, rows] = await read(planId);
    const a = rows.find((t) => t.id === ids.a)!;
    expect(a).toMatchObject({ status: "pending", retryCount: 1, errorMessage: "timed out after 60 s" });
    expect(rows.find((t) => t.id === ids.c)!.status).toBe("in_progress");
    await age(ids.a!, 31);
    expect((await claim(w, planId, 5)).body.items.map((t: any) => t.id)).toEqual([ids.a]);
    await age(ids.a!, 61);
    await runCron();
    expect(await statusOf(planId)).toEqual({ a: "failed", b: "blocked", c: "in_progress" });
    [, rows] = await read(planId);
    expect((await read(planId))[2].filter((r) => r.todoId === ids.a).map((r) => r.success)).toEqual([false, false]);
    expect((await read(planId))[0][0]).toMatchObject({ status: "executing", failedTodos: 1 });
  });

  it("answers 404 and 409 naming the state, and keeps other organizations out", async () => {
    const w = await planWorld();
    const other = await planWorld();
    const { body } = await createPlan(w, { todos: [todo("a")] });
    const draft = await claim(w, body.plan.id);
    expectProblem(draft, 409, "invalid_state");
    expect(draft.body.currentStatus).toBe("draft");
    const pending = await onTodo(w.owner.bearer, body.todos[0].id, "complete", {});
    expectProblem(pending, 409, "invalid_state");
    expect(pending.body.currentStatus).toBe("pending");
    expectProblem(await claim(other, body.plan.id), 404, "not_found");
    expectProblem(await onTodo(other.owner.bearer, body.todos[0].id, "cancel"), 404, "not_found");
    const viewer = await provisioned(w.orgId, w.admin, ["viewer"]);
    expectProblem(await claim(w, body.plan.id, 1, viewer.bearer), 403, "agent_role_required");
  });

  it("row-level security: todo approval takes a manager, members only add to their organization's tokens (migration 0012)", async () => {
    const w = await planWorld();
    const { ids } = await executingPlan(w, [todo("a", { requiresApproval: true })]);
    const manager = await provisioned(w.orgId, w.admin, ["manager"]);
    const user = as(w.orgId, w.owner.userId);
    await expect(runAs(db, user, [db.update(todos).set({ approvedAt: sql`now()` }).where(eq(todos.id, ids.a!))] as const)).rejects.toMatchObject({ code: "42501" });
    expect((await runAs(db, as(w.orgId, manager.userId, ["manager"]), [db.update(todos).set({ approvedAt: sql`now()` }).where(eq(todos.id, ids.a!)).returning({ id: todos.id })] as const))[0]).toHaveLength(1);

    const charge = (set: Record<string, unknown>) => runAs(db, user, [db.update(organizations).set(set).where(eq(organizations.id, w.orgId)).returning({ id: organizations.id })] as const);
    expect((await charge({ currentMonthTokens: sql`coalesce(${organizations.currentMonthTokens}, 0) + 10` }))[0]).toHaveLength(1);
    await expect(charge({ currentMonthTokens: 0 })).rejects.toMatchObject({ code: "42501" });
    await expect(charge({ name: "mine now" })).rejects.toMatchObject({ code: "42501" });
    await expect(charge({ maxMonthlyTokens: 10_000_000 })).rejects.toMatchObject({ code: "42501" });
    const viewer = await provisioned(w.orgId, w.admin, ["viewer"]);
    expect((await runAs(db, as(w.orgId, viewer.userId, ["viewer"]), [db.update(organizations).set({ currentMonthTokens: 99 }).where(eq(organizations.id, w.orgId)).returning({ id: organizations.id })] as const))[0]).toEqual([]);
  });
});
