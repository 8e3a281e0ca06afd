import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { hitlEvents, plans, planVersions, todos, tools } from "../../src/agent/schema";
import { runAs } from "../../src/platform/db";
import { call, expectProblem, roundTrips } from "./helpers";
import { as, db } from "./agent-helpers";
import { claim, createPlan, executingPlan, planWorld, sharedTool, todo, type PlanWorld } from "./agent-plans-helpers";

const service = () => as(null, crypto.randomUUID(), ["service"]);
const stored = async (planId: string) =>
  runAs(db, service(), [
    db.select().from(plans).where(eq(plans.id, planId)),
    db.select().from(todos).where(eq(todos.planId, planId)),
    db.select().from(planVersions).where(eq(planVersions.planId, planId)),
  ] as const);
const complete = (...ids: string[]) => runAs(db, service(), ids.map((id) => db.update(todos).set({ status: "completed" }).where(eq(todos.id, id))) as never);
const edit = (w: PlanWorld, planId: string, body: unknown) => call("PUT", `/api/v1/agent/plans/${planId}/todos`, { token: w.owner.bearer, body });
interface StoredTodo {
  id: string;
  title: string;
  dependsOn: string[];
}
/** The todo of a key, found by the title todo() made from it ("do a"). */
const keyed = (list: StoredTodo[]) => (key: string): StoredTodo => list.find((t) => t.title === `do ${key}`) ?? expect.fail(`no todo ${key}`);

/** blocks is the exact inverse of depends_on, over every todo of the set. */
function expectInverse(list: { id: string; dependsOn: string[] | null; blocks: string[] | null }[]) {
  for (const t of list) {
    const dependents = list.filter((u) => (u.dependsOn ?? []).includes(t.id)).map((u) => u.id);
    expect([...(t.blocks ?? [])].sort()).toEqual(dependents.sort());
  }
}

describe("agent plan edits", () => {
  it("keep completed todos: those left out first with their mutual dependencies, a re-sent one placed as sent; one round trip", async () => {
    const w = await planWorld();
    const created = await createPlan(w, { todos: [todo("a"), todo("b", { dependsOn: ["a"] }), todo("c", { dependsOn: ["b"] }), todo("d", { dependsOn: ["a"] })] });
    const planId = created.body.plan.id;
    const before = keyed(created.body.todos);
    await complete(before("a").id, before("b").id);

    const edited = await edit(w, planId, {
      changeType: "replan",
      changeReason: "new tail",
      todos: [todo("b", { title: "ignored: b is kept", dependsOn: [] }), todo("e", { dependsOn: ["a", "b"] }), todo("f", { dependsOn: ["e"], priority: 9 })],
    });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(await roundTrips(edited.requestId)).toMatchObject({ neon: 1 });
    expect(edited.body.plan).toMatchObject({ currentVersion: 2, totalTodos: 4, completedTodos: 2, failedTodos: 0, status: "draft" });
    const list = edited.body.todos;
    expect(list.map((t: any) => [t.title, t.status, t.executionOrder])).toEqual([
      ["do a", "completed", 1],
      ["do b", "completed", 2],
      ["do e", "pending", 3],
      ["do f", "pending", 4],
    ]);
    const after = keyed(list);
    expect(after("a").id).toBe(before("a").id);
    expect(after("b").id).toBe(before("b").id);
    expect(after("b").dependsOn).toEqual([]);
    expect(after("e").dependsOn).toEqual([before("a").id, before("b").id]);
    expect(after("f").dependsOn).toEqual([after("e").id]);
    expectInverse(list);

    const [[plan], rows, versions] = await stored(planId);
    expect(rows).toHaveLength(4);
    expect(plan!.totalTodos).toBe(rows.length);
    expect(plan!.completedTodos).toBe(rows.filter((t) => t.status === "completed").length);
    const v2 = versions.find((v) => v.version === 2)!;
    expect(v2).toMatchObject({ changeType: "replan", changeReason: "new tail", changedBy: w.owner.userId });
    const snapshot = v2.todosSnapshot as any[];
    expect(snapshot.map((t) => [t.key, t.status, t.id, t.dependsOn, t.blocks, t.executionOrder])).toEqual([
      ["a", "completed", before("a").id, [], ["e"], 1],
      ["b", "completed", before("b").id, [], ["e"], 2],
      ["e", "pending", after("e").id, ["a", "b"], ["f"], 3],
      ["f", "pending", after("f").id, ["e"], [], 4],
    ]);
  });

  it("refuse a dependency that is neither given nor a completed todo with a 422 at its JSON pointer, writing nothing, in one round trip", async () => {
    const w = await planWorld();
    const created = await createPlan(w, { todos: [todo("a"), todo("b", { dependsOn: ["a"] })] });
    const planId = created.body.plan.id;
    const refused = await edit(w, planId, { changeType: "user_edit", todos: [todo("x"), todo("y", { dependsOn: ["x", "b"] })] });
    expectProblem(refused, 422, "validation_failed");
    expect(refused.body.errors).toEqual([{ path: "json.todos.1.dependsOn.1", message: expect.stringContaining('depends on unknown todo key "b"') }]);
    expect(await roundTrips(refused.requestId)).toMatchObject({ neon: 1 });
    const [[plan], rows, versions] = await stored(planId);
    expect(plan!.currentVersion).toBe(1);
    expect(rows.map((t) => t.id).sort()).toEqual(created.body.todos.map((t: any) => t.id).sort());
    expect(versions).toHaveLength(1);
    // Once b is completed, the same set is accepted: y depends on the kept b.
    await complete(keyed(created.body.todos)("b").id);
    const ok = await edit(w, planId, { changeType: "user_edit", todos: [todo("x"), todo("y", { dependsOn: ["x", "b"] })] });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const now = keyed(ok.body.todos);
    expect(now("y").dependsOn).toEqual([now("x").id, keyed(created.body.todos)("b").id]);
  });

  it("race: concurrent edits never share a version; each loser is a 409 plan_changed that writes nothing", async () => {
    const w = await planWorld();
    const created = await createPlan(w, { todos: [todo("a")] });
    const planId = created.body.plan.id;
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => edit(w, planId, { changeType: "user_edit", todos: [todo(`n${n}`)] })));
    const won = results.filter((r) => r.status === 200);
    for (const r of results.filter((r) => r.status !== 200)) expect(r.body.code, JSON.stringify(r.body)).toBe("plan_changed");
    expect(won.length).toBeGreaterThan(0);
    const wonVersions = won.map((r) => r.body.plan.currentVersion).sort();
    expect(new Set(wonVersions).size).toBe(won.length);
    const [[plan], rows, versions] = await stored(planId);
    expect(plan!.currentVersion).toBe(1 + won.length);
    expect(versions.map((v) => v.version).sort()).toEqual(Array.from({ length: 1 + won.length }, (_, i) => i + 1));
    // The todo set is the last winner's, whole.
    const last = (versions.find((v) => v.version === plan!.currentVersion)!.todosSnapshot as any[]).map((t) => t.id);
    expect(rows.map((t) => t.id).sort()).toEqual(last.sort());
  });

  it("refuse while an executor holds a todo (409 todos_in_progress), in one round trip", async () => {
    const w = await planWorld();
    const { planId } = await executingPlan(w, [todo("a"), todo("b")]);
    expect((await claim(w, planId)).status).toBe(200);
    expect((await call("POST", `/api/v1/agent/plans/${planId}/pause`, { token: w.owner.bearer })).status).toBe(200);
    const refused = await edit(w, planId, { changeType: "replan", todos: [todo("c")] });
    expectProblem(refused, 409, "todos_in_progress");
    expect(await roundTrips(refused.requestId)).toMatchObject({ neon: 1 });
    expect((await stored(planId))[0][0]!.currentVersion).toBe(1);
  });

  it("check tools through the tool cache: cold costs a read; a tool deactivated behind the cache is 409 tools_changed, nothing written", async () => {
    const w = await planWorld();
    const tool = await sharedTool({ type: "object", properties: { n: { type: "integer" } }, required: ["n"] });
    const created = await createPlan(w, { todos: [todo("a")] });
    const planId = created.body.plan.id;
    const badParams = await edit(w, planId, { changeType: "user_edit", todos: [todo("t", { toolName: tool, toolParams: { n: "one" } })] });
    expectProblem(badParams, 422, "validation_failed");
    expect(badParams.body.errors[0].path).toBe("json.todos.0.toolParams.n");
    // The refusal above read the tool from Postgres (cold) and cached it: no write was tried.
    expect(await roundTrips(badParams.requestId)).toMatchObject({ neon: 1 });
    const warm = await edit(w, planId, { changeType: "user_edit", todos: [todo("t", { toolName: tool, toolParams: { n: 1 } })] });
    expect(warm.status, JSON.stringify(warm.body)).toBe(200);
    expect(await roundTrips(warm.requestId)).toMatchObject({ neon: 1 });

    await runAs(db, as(null, crypto.randomUUID(), ["operator"]), [db.update(tools).set({ isActive: false }).where(eq(tools.name, tool))] as const);
    const stale = await edit(w, planId, { changeType: "user_edit", todos: [todo("t2", { toolName: tool, toolParams: { n: 2 } })] });
    expectProblem(stale, 409, "tools_changed");
    expect(stale.body.tools).toEqual([tool]);
    expect(await roundTrips(stale.requestId)).toMatchObject({ neon: 1 });
    expect((await stored(planId))[0][0]!.currentVersion).toBe(2);
  });
});

describe("agent edit events approved in one round trip", () => {
  const open = (w: PlanWorld, planId: string, body: unknown) => call("POST", `/api/v1/agent/plans/${planId}/events`, { token: w.owner.bearer, body });
  const respond = (w: PlanWorld, id: string, body: unknown) => call("POST", `/api/v1/agent/events/${id}/respond`, { token: w.owner.bearer, body });
  const eventOf = async (id: string) => (await runAs(db, service(), [db.select().from(hitlEvents).where(eq(hitlEvents.id, id))] as const))[0][0]!;

  it("check the proposal when opened; at approval refuse what changed since (a dependency no longer kept, a tool updated), the event staying pending", async () => {
    const w = await planWorld();
    const tool = await sharedTool({ type: "object" });
    const created = await createPlan(w, { todos: [todo("a"), todo("b", { dependsOn: ["a"] })] });
    const planId = created.body.plan.id;
    const badParams = await open(w, planId, { type: "edit", todos: [todo("t", { toolName: "no_such_tool" })] });
    expectProblem(badParams, 422, "validation_failed");
    expect(badParams.body.errors[0].path).toBe("json.todos.0.toolName");

    // c depends on b, which is not completed: refused at approval, at the stored proposal's pointer.
    const onB = await open(w, planId, { type: "replan", todos: [todo("c", { dependsOn: ["b"] })] });
    expect(onB.status, JSON.stringify(onB.body)).toBe(201);
    expect(onB.body.eventData.todos[0]).toMatchObject({ key: "c", dependsOn: ["b"], executionOrder: 1, priority: 5 });
    const early = await respond(w, onB.body.id, { decision: "approve" });
    expectProblem(early, 422, "validation_failed");
    expect(early.body.errors[0].path).toBe("eventData.todos.0.dependsOn.0");
    expect(await roundTrips(early.requestId)).toMatchObject({ neon: 1 });
    expect((await eventOf(onB.body.id)).status).toBe("pending");
    await complete(keyed(created.body.todos)("a").id, keyed(created.body.todos)("b").id);
    const approved = await respond(w, onB.body.id, { decision: "approve" });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(await roundTrips(approved.requestId)).toMatchObject({ neon: 1 });
    const [[plan], rows] = await stored(planId);
    expect(plan).toMatchObject({ currentVersion: 2, totalTodos: 3, completedTodos: 2 });
    expectInverse(rows);

    // A tool updated after the event was opened: 409 tools_changed, nothing written, still pending.
    const withTool = await open(w, planId, { type: "edit", todos: [todo("t", { toolName: tool, toolParams: {} })] });
    expect(withTool.status, JSON.stringify(withTool.body)).toBe(201);
    await runAs(db, as(null, crypto.randomUUID(), ["operator"]), [
      db.update(tools).set({ parametersSchema: { type: "object", required: ["n"] }, updatedAt: sql`now()` }).where(eq(tools.name, tool)),
    ] as const);
    const stale = await respond(w, withTool.body.id, { decision: "approve" });
    expectProblem(stale, 409, "tools_changed");
    expect(await roundTrips(stale.requestId)).toMatchObject({ neon: 1 });
    expect((await eventOf(withTool.body.id)).status).toBe("pending");
    expect((await stored(planId))[0][0]!.currentVersion).toBe(2);
    expect((await respond(w, withTool.body.id, { decision: "reject" })).status).toBe(200);
  });
});
