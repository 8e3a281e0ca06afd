import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { organizations, plans, planVersions, todos } from "../../src/agent/schema";
import { runAs } from "../../src/platform/db";
import { call, expectProblem, roundTrips } from "./helpers";
import { as, db, provisioned } from "./agent-helpers";
import { createPlan, planWorld, sharedTool, todo } from "./agent-plans-helpers";

const stored = async (planId: string) =>
  runAs(db, as(null, crypto.randomUUID(), ["service"]), [
    db.select().from(plans).where(eq(plans.id, planId)),
    db.select().from(todos).where(eq(todos.planId, planId)),
    db.select().from(planVersions).where(eq(planVersions.planId, planId)),
  ] as const);

const countIn = async (sessionId: string) =>
  (await runAs(db, as(null, crypto.randomUUID(), ["service"]), [db.select({ n: sql<number>`count(*)::int` }).from(plans).where(eq(plans.sessionId, sessionId))] as const))[0][0]!.n;

describe("agent plans", () => {
  it("are created with execution order, blocks as the inverse of depends_on, counters and version 1, in one round trip", async () => {
    const w = await planWorld();
    const created = await createPlan(w, {
      intent: { goal: "Q3 report" },
      estimatedCost: 1.5,
      estimatedDurationSeconds: 600,
      todos: [todo("report", { dependsOn: ["fetch", "clean"], priority: 9 }), todo("fetch"), todo("clean", { dependsOn: ["fetch"] }), todo("notify", { priority: 0 })],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(await roundTrips(created.requestId)).toMatchObject({ neon: 1 });
    const { plan, todos: list } = created.body;
    expect(plan).toMatchObject({ sessionId: w.sessionId, organizationId: w.orgId, status: "draft", currentVersion: 1, totalTodos: 4, completedTodos: 0, failedTodos: 0, intent: { goal: "Q3 report" } });
    const byTitle = Object.fromEntries(list.map((t: any) => [t.title, t]));
    expect(list.map((t: any) => t.title)).toEqual(["do fetch", "do clean", "do report", "do notify"]);
    expect([...byTitle["do report"].dependsOn].sort()).toEqual([byTitle["do fetch"].id, byTitle["do clean"].id].sort());
    expect(byTitle["do fetch"].blocks).toEqual([byTitle["do clean"].id, byTitle["do report"].id]);
    expect(byTitle["do clean"].blocks).toEqual([byTitle["do report"].id]);
    expect(byTitle["do notify"].blocks).toEqual([]);

    const [[row], rows, versions] = await stored(plan.id);
    expect(row!.totalTodos).toBe(4);
    expect(rows).toHaveLength(4);
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ version: 1, changeType: "create", changedBy: w.owner.userId });
    expect(versions[0]!.todosSnapshot.map((t) => t.key)).toEqual(["fetch", "clean", "report", "notify"]);
    expect(versions[0]!.todosSnapshot[2]).toMatchObject({ key: "report", dependsOn: ["fetch", "clean"], blocks: [], executionOrder: 3, status: "pending" });

    const read = await call("GET", `/api/v1/agent/plans/${plan.id}`, { token: w.owner.bearer });
    expect(read.body).toEqual(created.body);
    expect(await roundTrips(read.requestId)).toMatchObject({ neon: 1 });
  });

  it("are refused with a 422 naming the todo for every DAG fault, and write nothing", async () => {
    const w = await planWorld();
    const refuse = async (todosIn: unknown[], path: string, text: string) => {
      const res = await createPlan(w, { todos: todosIn });
      expectProblem(res, 422, "validation_failed");
      expect(res.body.errors).toContainEqual({ path, message: expect.stringContaining(text) });
      expect(await roundTrips(res.requestId)).toMatchObject({ neon: 0 });
    };
    await refuse([todo("a"), todo("b", { dependsOn: ["nope"] })], "json.todos.1.dependsOn.0", 'unknown todo key "nope"');
    await refuse([todo("a", { dependsOn: ["a"] })], "json.todos.0.dependsOn.0", 'todo "a" depends on itself');
    await refuse([todo("a", { dependsOn: ["c"] }), todo("b", { dependsOn: ["a"] }), todo("c", { dependsOn: ["b"] })], "json.todos.0.dependsOn", "dependency cycle: a → c → b → a");
    await refuse([todo("a"), todo("a")], "json.todos.1.key", 'duplicate todo key "a"');
    expect(await countIn(w.sessionId)).toBe(0);
  });

  it("look tools up in the same request: unknown, inactive and bad tool_params are 422s naming the pointer", async () => {
    const w = await planWorld();
    const query = await sharedTool({ type: "object", properties: { limit: { type: "integer", minimum: 1 } }, required: ["limit"] });
    const off = await sharedTool([], false);
    const bare = await sharedTool([]);

    const unknown = await createPlan(w, { todos: [todo("a", { toolName: "no_such_tool" })] });
    expectProblem(unknown, 422, "validation_failed");
    expect(unknown.body.errors).toEqual([{ path: "json.todos.0.toolName", message: 'todo "a" calls unknown tool "no_such_tool"' }]);
    expect((await createPlan(w, { todos: [todo("a", { toolName: off })] })).body.errors).toEqual([{ path: "json.todos.0.toolName", message: `todo "a" calls inactive tool "${off}"` }]);

    const bad = await createPlan(w, { todos: [todo("a", { toolName: query, toolParams: { limit: 0 } }), todo("b", { toolName: bare, toolParams: { x: 1 } })] });
    expectProblem(bad, 422, "validation_failed");
    expect(bad.body.errors.map((e: any) => e.path)).toEqual(["json.todos.0.toolParams.limit", "json.todos.1.toolParams.x"]);
    expect(bad.body.errors[0].message).toContain(`(todo "a", tool "${query}", at /limit)`);
    const big = await createPlan(w, { todos: [todo("a", { toolParams: { blob: "x".repeat(17_000) } })] });
    expectProblem(big, 422, "validation_failed");
    expect(big.body.errors[0].path).toBe("json.todos.0.toolParams");
    expect(await countIn(w.sessionId)).toBe(0);

    const ok = await createPlan(w, { todos: [todo("a", { toolName: query, toolParams: { limit: 5 } }), todo("b", { toolName: bare })] });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    // The refused attempts above cached the tools' schemas, so only the write reaches Postgres.
    expect(await roundTrips(ok.requestId)).toMatchObject({ neon: 1 });
    expect(ok.body.todos[0]).toMatchObject({ toolName: query, toolParams: { limit: 5 } });
  });

  it("go only into the caller's own active session", async () => {
    const w = await planWorld();
    const peer = await provisioned(w.orgId, w.admin);
    expectProblem(await createPlan(w, { todos: [todo("a")] }, peer.bearer), 404, "not_found");
    const manager = await provisioned(w.orgId, w.admin, ["manager"]);
    expectProblem(await createPlan(w, { todos: [todo("a")] }, manager.bearer), 403, "not_session_owner");
    const viewer = await provisioned(w.orgId, w.admin, ["viewer"]);
    expectProblem(await createPlan(w, { todos: [todo("a")] }, viewer.bearer), 403, "agent_role_required");
    await call("POST", `/api/v1/agent/sessions/${w.sessionId}/complete`, { token: w.owner.bearer });
    const closed = await createPlan(w, { todos: [todo("a")] });
    expectProblem(closed, 409, "invalid_state");
    expect(closed.body.currentStatus).toBe("completed");
    expectProblem(await createPlan(w, { todos: [] }), 422, "validation_failed");
    expect(await countIn(w.sessionId)).toBe(0);
  });

  it("move through the status machine, one conditional statement each, 409 naming the state; managers approve", async () => {
    const w = await planWorld();
    const manager = await provisioned(w.orgId, w.admin, ["manager"]);
    const { body } = await createPlan(w, { todos: [todo("a")] });
    const move = (name: string, bearer = w.owner.bearer) => call("POST", `/api/v1/agent/plans/${body.plan.id}/${name}`, { token: bearer });

    expectProblem(await move("approve"), 403, "agent_role_required");
    const early = await move("start");
    expectProblem(early, 409, "invalid_state");
    expect(early.body.currentStatus).toBe("draft");
    const approved = await move("approve", manager.bearer);
    expect(approved.body.status).toBe("approved");
    expect(await roundTrips(approved.requestId)).toMatchObject({ neon: 1 });
    const started = await move("start");
    expect(started.body).toMatchObject({ status: "executing" });
    expect(started.body.startedAt).not.toBeNull();
    const paused = await move("pause");
    expect(paused.body.status).toBe("paused");
    const pausedAgain = await move("pause");
    expectProblem(pausedAgain, 409, "invalid_state");
    const resumed = await move("resume");
    expect(resumed.body.status).toBe("executing");
    const cancelled = await move("cancel");
    expect(cancelled.body).toMatchObject({ status: "cancelled" });
    const again = await move("resume");
    expectProblem(again, 409, "invalid_state");
    expect(again.body.detail).toContain("it is cancelled");
    // Every move, done or refused, is one round trip: the conditional update and the state read.
    for (const res of [early, started, paused, pausedAgain, resumed, cancelled, again]) expect(await roundTrips(res.requestId)).toMatchObject({ neon: 1 });
    expectProblem(await call("POST", `/api/v1/agent/plans/${crypto.randomUUID()}/cancel`, { token: w.owner.bearer }), 404, "not_found");
  });

  it("may not start executing once the organization's month tokens are spent (429 until the first of next month)", async () => {
    const w = await planWorld({ maxMonthlyTokens: 1000 });
    const manager = await provisioned(w.orgId, w.admin, ["manager"]);
    const { body } = await createPlan(w, { todos: [todo("a")] });
    await call("POST", `/api/v1/agent/plans/${body.plan.id}/approve`, { token: manager.bearer });
    await runAs(db, as(null, crypto.randomUUID(), ["service"]), [db.update(organizations).set({ currentMonthTokens: 1000 }).where(eq(organizations.id, w.orgId))] as const);
    const refused = await call("POST", `/api/v1/agent/plans/${body.plan.id}/start`, { token: w.owner.bearer });
    expectProblem(refused, 429, "monthly_tokens_exhausted");
    const now = new Date();
    const untilNextMonth = (Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) - now.getTime()) / 1000;
    expect(Math.abs(Number(refused.headers.get("Retry-After")) - untilNextMonth)).toBeLessThan(5);
    expect((await stored(body.plan.id))[0][0]!.status).toBe("approved");

    await runAs(db, as(null, crypto.randomUUID(), ["service"]), [db.update(organizations).set({ currentMonthTokens: 999 }).where(eq(organizations.id, w.orgId))] as const);
    expect((await call("POST", `/api/v1/agent/plans/${body.plan.id}/start`, { token: w.owner.bearer })).body.status).toBe("executing");
  });

  it("list versions and diff two of them", async () => {
    const w = await planWorld();
    const { body } = await createPlan(w, { todos: [todo("a"), todo("b", { dependsOn: ["a"] })] });
    const versions = await call("GET", `/api/v1/agent/plans/${body.plan.id}/versions`, { token: w.owner.bearer });
    expect(versions.body.items).toEqual([expect.objectContaining({ version: 1, changeType: "create", changedBy: w.owner.userId, todoCount: 2 })]);
    expect(await roundTrips(versions.requestId)).toMatchObject({ neon: 1 });
    const same = await call("GET", `/api/v1/agent/plans/${body.plan.id}/versions/diff?from=1&to=1`, { token: w.owner.bearer });
    expect(same.body).toEqual({ from: 1, to: 1, added: [], removed: [], changed: [] });
    const missing = await call("GET", `/api/v1/agent/plans/${body.plan.id}/versions/diff?from=1&to=2`, { token: w.owner.bearer });
    expectProblem(missing, 422, "validation_failed");
    expect(missing.body.errors[0].path).toBe("query.to");
  });

  it("are not visible to another organization", async () => {
    const w = await planWorld();
    const other = await planWorld();
    const { body } = await createPlan(w, { todos: [todo("a")] });
    expectProblem(await call("GET", `/api/v1/agent/plans/${body.plan.id}`, { token: other.owner.bearer }), 404, "not_found");
    expectProblem(await call("POST", `/api/v1/agent/plans/${body.plan.id}/cancel`, { token: other.owner.bearer }), 404, "not_found");
    expectProblem(await call("GET", `/api/v1/agent/plans/${body.plan.id}/versions`, { token: other.owner.bearer }), 404, "not_found");
  });

  it("approval takes a manager or an admin in Postgres too (migration 0012), straight as app_api", async () => {
    const w = await planWorld();
    const manager = await provisioned(w.orgId, w.admin, ["manager"]);
    const { body } = await createPlan(w, { todos: [todo("a")] });
    const approve = (roles: string[], userId: string) =>
      runAs(db, as(w.orgId, userId, roles), [db.update(plans).set({ status: "approved" }).where(eq(plans.id, body.plan.id)).returning({ id: plans.id })] as const);
    await expect(approve([], w.owner.userId)).rejects.toMatchObject({ code: "42501" });
    // Other moves stay with every writer.
    const [changed] = await runAs(db, as(w.orgId, w.owner.userId), [db.update(plans).set({ intent: { x: 1 } }).where(eq(plans.id, body.plan.id)).returning({ id: plans.id })] as const);
    expect(changed).toHaveLength(1);
    expect((await approve(["manager"], manager.userId))[0]).toHaveLength(1);
  });

  it("edits replace the todo set as a new version, keeping completed todos; diff names what changed", async () => {
    const w = await planWorld();
    const tool = await sharedTool({ type: "object", properties: { n: { type: "integer" } } });
    const { body } = await createPlan(w, { todos: [todo("fetch"), todo("clean", { dependsOn: ["fetch"] }), todo("report", { dependsOn: ["clean"], toolName: tool, toolParams: { n: 1 } })] });
    const planId = body.plan.id;
    const fetchId = body.todos[0].id;
    // fetch completed (as an executor would leave it).
    await runAs(db, as(null, crypto.randomUUID(), ["service"]), [db.update(todos).set({ status: "completed" }).where(eq(todos.id, fetchId))] as const);

    const edit = (b: unknown) => call("PUT", `/api/v1/agent/plans/${planId}/todos`, { token: w.owner.bearer, body: b });
    const edited = await edit({
      changeType: "user_edit",
      changeReason: "drop cleaning",
      todos: [todo("report", { dependsOn: ["fetch"], toolName: tool, toolParams: { n: 2 } }), todo("chart", { dependsOn: ["report"] })],
    });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    // One batch: the write guarded on the version it reads (no tool named misses the cache: warm from creation).
    expect(await roundTrips(edited.requestId)).toMatchObject({ neon: 1 });
    expect(edited.body.plan).toMatchObject({ currentVersion: 2, totalTodos: 3, completedTodos: 1, status: "draft" });
    const titles = edited.body.todos.map((t: any) => [t.title, t.status]);
    expect(titles).toEqual([["do fetch", "completed"], ["do report", "pending"], ["do chart", "pending"]]);
    expect(edited.body.todos[0].id).toBe(fetchId);
    expect(edited.body.todos[0].blocks).toEqual([edited.body.todos[1].id]);
    expect(edited.body.todos[1].dependsOn).toEqual([fetchId]);

    const diff = await call("GET", `/api/v1/agent/plans/${planId}/versions/diff?from=1&to=2`, { token: w.owner.bearer });
    expect(await roundTrips(diff.requestId)).toMatchObject({ neon: 1 });
    expect(diff.body.added.map((t: any) => t.key)).toEqual(["chart"]);
    expect(diff.body.removed.map((t: any) => t.key)).toEqual(["clean"]);
    const byKey = Object.fromEntries(diff.body.changed.map((c: any) => [c.key, c.changes.map((f: any) => f.field)]));
    expect(byKey.report).toEqual(expect.arrayContaining(["dependsOn", "executionOrder", "id", "toolParams"]));
    expect(byKey.fetch).toEqual(["blocks", "status"]);
    const versions = await call("GET", `/api/v1/agent/plans/${planId}/versions`, { token: w.owner.bearer });
    expect(versions.body.items.map((v: any) => [v.version, v.changeType, v.changeReason])).toEqual([[1, "create", null], [2, "user_edit", "drop cleaning"]]);

    // Refusals write nothing: a cycle through a kept todo's key, a final plan.
    const cyclic = await edit({ changeType: "replan", todos: [todo("a", { dependsOn: ["b"] }), todo("b", { dependsOn: ["a"] })] });
    expectProblem(cyclic, 422, "validation_failed");
    expect(cyclic.body.errors[0].message).toBe("dependency cycle: a → b → a");
    await call("POST", `/api/v1/agent/plans/${planId}/cancel`, { token: w.owner.bearer });
    const final = await edit({ changeType: "replan", todos: [todo("x")] });
    expectProblem(final, 409, "invalid_state");
    expect(final.body.currentStatus).toBe("cancelled");
    const [[row], rows, allVersions] = await stored(planId);
    expect(row!.currentVersion).toBe(2);
    expect(rows).toHaveLength(3);
    expect(allVersions).toHaveLength(2);
  });

  it("edits of an approved plan send it back to draft; an executing plan is not editable", async () => {
    const w = await planWorld();
    const manager = await provisioned(w.orgId, w.admin, ["manager"]);
    const { body } = await createPlan(w, { todos: [todo("a")] });
    await call("POST", `/api/v1/agent/plans/${body.plan.id}/approve`, { token: manager.bearer });
    const edited = await call("PUT", `/api/v1/agent/plans/${body.plan.id}/todos`, { token: w.owner.bearer, body: { changeType: "replan", todos: [todo("b")] } });
    expect(edited.body.plan).toMatchObject({ status: "draft", currentVersion: 2, totalTodos: 1, completedTodos: 0 });
    await call("POST", `/api/v1/agent/plans/${body.plan.id}/approve`, { token: manager.bearer });
    await call("POST", `/api/v1/agent/plans/${body.plan.id}/start`, { token: w.owner.bearer });
    const refused = await call("PUT", `/api/v1/agent/plans/${body.plan.id}/todos`, { token: w.owner.bearer, body: { changeType: "replan", todos: [todo("c")] } });
    expectProblem(refused, 409, "invalid_state");
    expect(refused.body.currentStatus).toBe("executing");
  });
});
