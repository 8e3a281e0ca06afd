import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import worker from "../../functions/worker";
import { hitlEvents, plans, todos } from "../../src/agent/schema";
import { runAs } from "../../src/platform/db";
import { EVERY_MINUTE } from "../../src/platform/system";
import { call, expectProblem, roundTrips, testEnv } from "./helpers";
import { as, db, provisioned } from "./agent-helpers";
import { claim, createPlan, executingPlan, onTodo, planWorld, todo, type PlanWorld } from "./agent-plans-helpers";

const service = () => as(null, crypto.randomUUID(), ["service"]);
const planOf = async (id: string) => (await runAs(db, service(), [db.select().from(plans).where(eq(plans.id, id))] as const))[0][0]!;
const todoOf = async (id: string) => (await runAs(db, service(), [db.select().from(todos).where(eq(todos.id, id))] as const))[0][0]!;
const respond = (bearer: string, id: string, body: unknown) => call("POST", `/api/v1/agent/events/${id}/respond`, { token: bearer, body });
const open = (w: PlanWorld, planId: string, body: unknown, bearer = w.owner.bearer) => call("POST", `/api/v1/agent/plans/${planId}/events`, { token: bearer, body });
const pending = (w: PlanWorld, bearer = w.owner.bearer) => call("GET", `/api/v1/agent/sessions/${w.sessionId}/events`, { token: bearer });
const expire = (eventId: string) =>
  runAs(db, service(), [db.update(hitlEvents).set({ timeoutAt: sql`now() - interval '1 second'` }).where(eq(hitlEvents.id, eventId))] as const);
const runCron = async () => {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: EVERY_MINUTE, scheduledTime: Date.now() }), testEnv as never, ctx);
  await waitOnExecutionContext(ctx);
};

describe("agent human in the loop", () => {
  it("plan_review: managers approve or reject a draft plan; a second response is 409 with the status", async () => {
    const w = await planWorld();
    const manager = await provisioned(w.orgId, w.admin, ["manager"]);
    const { body } = await createPlan(w, { todos: [todo("a")] });
    const review = await open(w, body.plan.id, { type: "plan_review", data: { note: "please check" } });
    expect(review.status, JSON.stringify(review.body)).toBe(201);
    expect(await roundTrips(review.requestId)).toMatchObject({ neon: 1 });
    expect(review.body).toMatchObject({ eventType: "plan_review", status: "pending", planId: body.plan.id, sessionId: w.sessionId, eventData: { note: "please check" } });
    const list = await pending(w);
    expect(list.body.items.map((e: any) => e.id)).toEqual([review.body.id]);
    expect(await roundTrips(list.requestId)).toMatchObject({ neon: 1 });

    expectProblem(await respond(w.owner.bearer, review.body.id, { decision: "approve" }), 403, "agent_role_required");
    expectProblem(await respond(manager.bearer, review.body.id, { decision: "answer", answer: { x: 1 } }), 422, "validation_failed");
    const ok = await respond(manager.bearer, review.body.id, { decision: "approve" });
    expect(ok.body).toMatchObject({ status: "completed", userDecision: "approve", userId: manager.userId });
    expect(await roundTrips(ok.requestId)).toMatchObject({ neon: 1 });
    expect((await planOf(body.plan.id)).status).toBe("approved");
    const again = await respond(manager.bearer, review.body.id, { decision: "reject" });
    expectProblem(again, 409, "already_answered");
    expect(again.body.currentStatus).toBe("completed");
    expect((await planOf(body.plan.id)).status).toBe("approved");
    expect((await pending(w)).body.items).toEqual([]);

    const second = await createPlan(w, { todos: [todo("b")] });
    const r2 = await open(w, second.body.plan.id, { type: "plan_review" });
    await respond(manager.bearer, r2.body.id, { decision: "reject", reason: "not now" });
    expect((await planOf(second.body.plan.id)).status).toBe("cancelled");
  });

  it("approval_request from a claim is answered by a manager: approve makes the todo runnable, reject blocks its dependents", async () => {
    const w = await planWorld();
    const { planId, ids, manager } = await executingPlan(w, [todo("a", { requiresApproval: true }), todo("b", { requiresApproval: true }), todo("c", { dependsOn: ["b"] })]);
    await claim(w, planId, 5);
    const events = (await pending(w)).body.items;
    const byTodo = Object.fromEntries(events.map((e: any) => [e.todoId, e]));
    expect(byTodo[ids.a!].eventType).toBe("approval_request");
    expectProblem(await respond(w.owner.bearer, byTodo[ids.a!].id, { decision: "approve" }), 403, "agent_role_required");
    await respond(manager.bearer, byTodo[ids.a!].id, { decision: "approve" });
    expect(await todoOf(ids.a!)).toMatchObject({ status: "pending", approvedBy: manager.userId });
    expect((await claim(w, planId, 5)).body.items.map((t: any) => t.id)).toEqual([ids.a]);
    await respond(manager.bearer, byTodo[ids.b!].id, { decision: "reject", reason: "no" });
    expect(await todoOf(ids.b!)).toMatchObject({ status: "cancelled", rejectionReason: "no" });
    expect((await todoOf(ids.c!)).status).toBe("blocked");
  });

  it("input_request: an executor asks, the plan waits, the answer merges into input_data and the todo runs again", async () => {
    const w = await planWorld();
    const { planId, ids } = await executingPlan(w, [todo("a", { inputData: { region: "EU" } }), todo("b")]);
    await claim(w, planId, 1);
    const asked = await call("POST", `/api/v1/agent/todos/${ids.a}/input-request`, { token: w.owner.bearer, body: { question: "Which quarter?" } });
    expect(asked.status, JSON.stringify(asked.body)).toBe(201);
    expect(await roundTrips(asked.requestId)).toMatchObject({ neon: 1 });
    expect(asked.body).toMatchObject({ eventType: "input_request", todoId: ids.a, eventData: { question: "Which quarter?" } });
    expect((await todoOf(ids.a!)).status).toBe("needs_approval");
    expect((await planOf(planId)).status).toBe("waiting");
    // Approving is for approval requests: it does not skip the question.
    const manager = await provisioned(w.orgId, w.admin, ["manager"]);
    expectProblem(await onTodo(manager.bearer, ids.a!, "approve"), 409, "invalid_state");
    // Other branches still run while the plan waits.
    expect((await claim(w, planId, 5)).body.items.map((t: any) => t.id)).toEqual([ids.b]);
    expectProblem(await respond(w.owner.bearer, asked.body.id, { decision: "answer" }), 422, "validation_failed");
    expectProblem(await respond(w.owner.bearer, asked.body.id, { decision: "approve" }), 422, "validation_failed");
    const answered = await respond(w.owner.bearer, asked.body.id, { decision: "answer", answer: { quarter: "Q3" } });
    expect(answered.body).toMatchObject({ status: "completed", userDecision: "answer", userInput: '{"quarter":"Q3"}' });
    expect(await todoOf(ids.a!)).toMatchObject({ status: "pending", inputData: { region: "EU", quarter: "Q3" } });
    expect((await planOf(planId)).status).toBe("executing");
    expect((await claim(w, planId, 5)).body.items.map((t: any) => t.id)).toEqual([ids.a]);
    await onTodo(w.owner.bearer, ids.b!, "complete", {});
    const late = await call("POST", `/api/v1/agent/todos/${ids.b}/input-request`, { token: w.owner.bearer, body: { question: "?" } });
    expectProblem(late, 409, "invalid_state");
    expect(late.body.currentStatus).toBe("completed");
  });

  it("skipping a todo that waits for an answer closes its request and releases the waiting plan", async () => {
    const w = await planWorld();
    const { planId, ids } = await executingPlan(w, [todo("a"), todo("b", { dependsOn: ["a"] })]);
    await claim(w, planId, 1);
    const asked = await call("POST", `/api/v1/agent/todos/${ids.a}/input-request`, { token: w.owner.bearer, body: { question: "?" } });
    expect((await planOf(planId)).status).toBe("waiting");
    expect((await onTodo(w.owner.bearer, ids.a!, "skip")).body.status).toBe("skipped");
    expect((await planOf(planId)).status).toBe("executing");
    expectProblem(await respond(w.owner.bearer, asked.body.id, { decision: "answer", answer: { x: 1 } }), 409, "already_answered");
    expect((await claim(w, planId, 5)).body.items.map((t: any) => t.id)).toEqual([ids.b]);
  });

  it("pause, resume and cancel events move the plan when approved; a declined one does nothing", async () => {
    const w = await planWorld();
    const { planId } = await executingPlan(w, [todo("a")]);
    const pause = await open(w, planId, { type: "pause" });
    await respond(w.owner.bearer, pause.body.id, { decision: "approve" });
    expect((await planOf(planId)).status).toBe("paused");
    const resume = await open(w, planId, { type: "resume" });
    await respond(w.owner.bearer, resume.body.id, { decision: "reject" });
    expect((await planOf(planId)).status).toBe("paused");
    const resume2 = await open(w, planId, { type: "resume" });
    await respond(w.owner.bearer, resume2.body.id, { decision: "approve" });
    expect((await planOf(planId)).status).toBe("executing");
    const cancel = await open(w, planId, { type: "cancel" });
    await respond(w.owner.bearer, cancel.body.id, { decision: "approve" });
    expect((await planOf(planId)).status).toBe("cancelled");
    const late = await open(w, planId, { type: "pause" });
    expectProblem(late, 409, "invalid_state");
    expect(late.body.currentStatus).toBe("cancelled");
    const viewer = await provisioned(w.orgId, w.admin, ["viewer"]);
    expectProblem(await respond(viewer.bearer, cancel.body.id, { decision: "approve" }), 403, "agent_role_required");
    expect((await pending(w, viewer.bearer)).status).toBe(200);
  });

  it("the cron times pending events out with each type's effect", async () => {
    const w = await planWorld();
    const { planId, ids } = await executingPlan(w, [todo("a", { requiresApproval: true }), todo("a2", { dependsOn: ["a"] }), todo("b"), todo("c")]);
    await claim(w, planId, 5);
    const approval = (await pending(w)).body.items.find((e: any) => e.todoId === ids.a);
    const asked = await call("POST", `/api/v1/agent/todos/${ids.b}/input-request`, { token: w.owner.bearer, body: { question: "?" } });
    const pause = await open(w, planId, { type: "pause" });
    expect((await planOf(planId)).status).toBe("waiting");
    for (const id of [approval.id, asked.body.id, pause.body.id]) await expire(id);
    await runCron();

    const [events] = await runAs(db, service(), [db.select().from(hitlEvents).where(eq(hitlEvents.planId, planId))] as const);
    expect(events.every((e) => e.status === "timeout")).toBe(true);
    expect(await todoOf(ids.a!)).toMatchObject({ status: "cancelled", rejectionReason: "approval timed out" });
    expect((await todoOf(ids.a2!)).status).toBe("blocked");
    expect(await todoOf(ids.b!)).toMatchObject({ status: "failed", errorMessage: "input request timed out" });
    // The lapsed pause did nothing; the plan no longer waits and runs c on.
    expect((await planOf(planId)).status).toBe("executing");
    expect((await todoOf(ids.c!)).status).toBe("in_progress");
    expectProblem(await respond(w.owner.bearer, pause.body.id, { decision: "approve" }), 409, "already_answered");
  });

  it("the cron lapses plan_review, pause, resume, cancel, edit and replan events with no effect on their plans", async () => {
    const w = await planWorld();
    const { body } = await createPlan(w, { todos: [todo("a")] });
    const draft = body.plan.id;
    const { planId: paused } = await executingPlan(w, [todo("p")]);
    expect((await call("POST", `/api/v1/agent/plans/${paused}/pause`, { token: w.owner.bearer })).status).toBe(200);
    const opened = [
      await open(w, draft, { type: "plan_review" }),
      await open(w, draft, { type: "cancel" }),
      await open(w, draft, { type: "edit", todos: [todo("e")] }),
      await open(w, draft, { type: "replan", todos: [todo("r")] }),
      await open(w, paused, { type: "resume" }),
      await open(w, paused, { type: "pause" }),
    ];
    for (const e of opened) expect(e.status, JSON.stringify(e.body)).toBe(201);
    for (const e of opened) await expire(e.body.id);
    await runCron();

    const [events] = await runAs(db, service(), [db.select().from(hitlEvents).where(sql`${hitlEvents.id} in ${opened.map((e) => e.body.id)}`)] as const);
    expect(events.map((e) => [e.eventType, e.status, e.userDecision]).sort()).toEqual(
      ["cancel", "edit", "pause", "plan_review", "replan", "resume"].map((t) => [t, "timeout", null]),
    );
    expect(await planOf(draft)).toMatchObject({ status: "draft", currentVersion: 1, totalTodos: 1 });
    expect(await planOf(paused)).toMatchObject({ status: "paused", currentVersion: 1 });
    expectProblem(await respond(w.owner.bearer, opened[2]!.body.id, { decision: "approve" }), 409, "already_answered");
  });

  it("events of another organization are not found", async () => {
    const w = await planWorld();
    const other = await planWorld();
    const { body } = await createPlan(w, { todos: [todo("a")] });
    const review = await open(w, body.plan.id, { type: "plan_review" });
    expectProblem(await respond(other.owner.bearer, review.body.id, { decision: "approve" }), 404, "not_found");
    expectProblem(await open(other, body.plan.id, { type: "pause" }), 404, "not_found");
    expectProblem(await call("GET", `/api/v1/agent/sessions/${w.sessionId}/events`, { token: other.owner.bearer }), 404, "not_found");
  });
});

describe("agent edit and replan events", () => {
  it("carry a proposed todo set; approving applies it as a new version (completed todos kept), rejecting changes nothing", async () => {
    const w = await planWorld();
    const { body } = await createPlan(w, { todos: [todo("a"), todo("b", { dependsOn: ["a"] })] });
    const planId = body.plan.id;
    expectProblem(await open(w, planId, { type: "edit" }), 422, "validation_failed");
    expectProblem(await open(w, planId, { type: "pause", todos: [todo("x")] }), 422, "validation_failed");
    const cyclic = await open(w, planId, { type: "replan", todos: [todo("x", { dependsOn: ["y"] }), todo("y", { dependsOn: ["x"] })] });
    expectProblem(cyclic, 422, "validation_failed");
    expect(cyclic.body.errors[0].message).toBe("dependency cycle: x → y → x");

    const edit = await open(w, planId, { type: "edit", todos: [todo("a"), todo("c", { dependsOn: ["a"] })], changeReason: "c instead of b" });
    expect(edit.status, JSON.stringify(edit.body)).toBe(201);
    const declined = await open(w, planId, { type: "replan", todos: [todo("z")] });
    await respond(w.owner.bearer, declined.body.id, { decision: "reject" });
    expect((await planOf(planId)).currentVersion).toBe(1);

    const approved = await respond(w.owner.bearer, edit.body.id, { decision: "approve" });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toMatchObject({ status: "completed", userDecision: "approve", userId: w.owner.userId });
    // The answer applies the stored proposal in the same batch.
    expect(await roundTrips(approved.requestId)).toMatchObject({ neon: 1 });
    expect(await planOf(planId)).toMatchObject({ currentVersion: 2, totalTodos: 2 });
    const versions = await call("GET", `/api/v1/agent/plans/${planId}/versions`, { token: w.owner.bearer });
    expect(versions.body.items.map((v: any) => [v.changeType, v.changeReason])).toEqual([["create", null], ["user_edit", "c instead of b"]]);
    expectProblem(await respond(w.owner.bearer, edit.body.id, { decision: "approve" }), 409, "already_answered");
  });
});
