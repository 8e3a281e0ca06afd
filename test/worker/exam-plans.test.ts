import type { z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { mistakeStats } from "../../src/exam/events-schema";
import { buildPlan } from "../../src/exam/plan-builder";
import type { BuiltPlan, PlanDetail, PlanList, TaskList } from "../../src/exam/plans.routes";
import { plans } from "../../src/exam/schema";
import { runAs } from "../../src/platform/db";
import { call, expectProblem } from "./helpers";
import { caller, db, eventsOf, expectTrips, learner, type Caller } from "./exam-helpers";

const DAY = 86_400_000;
const today = () => new Date().toISOString().slice(0, 10);
const inDays = (n: number) => new Date(Date.now() + n * DAY).toISOString().slice(0, 10);

async function withProfile(over: Record<string, unknown> = {}) {
  const who = await caller();
  const res = await call("PUT", "/api/v1/exam/profile", {
    token: who.bearer,
    body: { level: "ASSOCIATE", examDate: inDays(40), targetType: "HIGH_SCORE", ...over },
  });
  expect(res.status).toBe(201);
  return who;
}

// Untyped: a refused build answers a problem.
const post = (who: Caller, body?: unknown) => call("POST", "/api/v1/exam/plans", { token: who.bearer, body });
const tasksOf = async (who: Caller, id: string, query = "") =>
  (await call<z.infer<typeof TaskList>>("GET", `/api/v1/exam/plans/${id}/tasks${query}`, { token: who.bearer })).body.items;

describe("study plans", () => {
  it("are built from the caller's profile from today to the exam, in one round trip", async () => {
    const me = await withProfile();
    const res = await call<z.infer<typeof BuiltPlan>>("POST", "/api/v1/exam/plans", { token: me.bearer });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      userId: me.sub, startDate: today(), examDate: inDays(40), compressionFlag: false, readyIndex: 0,
      compression: { availableDays: 40, fullScheduleDays: 28, dailyBudgetMinutes: 90, mockDaysBeforeExam: [6, 3] },
      targetedDrills: 0,
    });
    expect(res.body.tasksByType.MOCK).toBe(2);
    await expectTrips(res.requestId, 1);

    const tasks = await tasksOf(me, res.body.id);
    expect(tasks.length).toBe(Object.values(res.body.tasksByType).reduce((a, b) => a + b, 0));
    expect(tasks[0]!.taskDate).toBe(today());
    expect(tasks.at(-1)!.taskDate).toBe(inDays(39));
    expect(tasks.every((t) => t.status === "TODO" && t.estMinutes > 0 && t.refId === null)).toBe(true);

    const window = await call<z.infer<typeof TaskList>>("GET", `/api/v1/exam/plans/${res.body.id}/tasks?from=${inDays(1)}&to=${inDays(2)}`, { token: me.bearer });
    expect(new Set(window.body.items.map((t) => t.taskDate))).toEqual(new Set([inDays(1), inDays(2)]));
    await expectTrips(window.requestId, 1);

    const one = await call<z.infer<typeof PlanDetail>>("GET", `/api/v1/exam/plans/${res.body.id}`, { token: me.bearer });
    expect(one.body).toMatchObject({ id: res.body.id, readyIndex: 0, taskCounts: { TODO: tasks.length, DONE: 0, SKIPPED: 0 } });
    await expectTrips(one.requestId, 1);
    const list = await call<z.infer<typeof PlanList>>("GET", "/api/v1/exam/plans", { token: me.bearer });
    expect(list.body.items.map((p) => p.id)).toEqual([res.body.id]);
    await expectTrips(list.requestId, 1);
  });

  it("shows the readiness snapshot the ReadyIndex consumer keeps", async () => {
    const me = await withProfile();
    const created = await post(me);
    await runAs(db, learner(me.sub), [db.update(plans).set({ readyIndexSnapshot: 73 }).where(eq(plans.id, created.body.id))] as const);
    expect((await call("GET", `/api/v1/exam/plans/${created.body.id}`, { token: me.bearer })).body.readyIndex).toBe(73);
  });

  it("aims drills at the caller's top error codes (mistake_stats) round-robin", async () => {
    const me = await withProfile();
    const codes = [["E_SHAPE", 9], ["E_NAN", 5], ["E_LEAK", 2]] as const;
    const ids = codes.map(() => crypto.randomUUID());
    await runAs(db, learner(me.sub), [
      db.insert(mistakeStats).values(codes.map(([errorCode, occurrences], i) => ({ id: ids[i]!, userId: me.sub, errorCode, occurrences }))),
    ] as const);
    const res = await post(me, { startDate: inDays(1) });
    expect(res.status).toBe(201);
    expect(res.body.startDate).toBe(inDays(1));
    const drills = (await tasksOf(me, res.body.id)).filter((t) => t.taskType === "DRILL");
    expect(res.body.targetedDrills).toBe(drills.length);
    expect(drills.every((d) => ids.includes(d.refId!))).toBe(true);
    const perCode = ids.map((id) => drills.filter((d) => d.refId === id).length);
    expect(Math.max(...perCode) - Math.min(...perCode)).toBeLessThanOrEqual(1);
  });

  it("compresses when fewer days are left than the full schedule needs", async () => {
    const me = await withProfile({ examDate: inDays(5), targetType: "PRACTICAL", level: "BASIC" });
    const res = await post(me);
    expect(res.body).toMatchObject({ compressionFlag: true, compression: { availableDays: 5, dailyBudgetMinutes: 90, mockDaysBeforeExam: [2] } });
    expect(res.body.tasksByType.MOCK).toBe(1);
  });

  it("refuses without a profile (409), with a past start or an exam already here (422), and bad bodies (422)", async () => {
    const none = await caller();
    const noProfile = await post(none);
    expectProblem(noProfile, 409, "profile_required");
    await expectTrips(noProfile.requestId, 1);
    const me = await withProfile();
    const past = await post(me, { startDate: inDays(-1) });
    expectProblem(past, 422, "plan_out_of_range");
    await expectTrips(past.requestId, 0);
    const onExamDay = await post(me, { startDate: inDays(40) });
    expectProblem(onExamDay, 422, "plan_out_of_range");
    await expectTrips(onExamDay.requestId, 1);
    expectProblem(await post(me, { startDate: "2027-02-30" }), 422, "validation_failed");
    expectProblem(await post(me, { startDate: today(), extra: 1 }), 422, "validation_failed");
    const tooFar = await withProfile({ examDate: inDays(400) });
    expectProblem(await post(tooFar), 422, "plan_out_of_range");
    expect((await call("GET", "/api/v1/exam/plans", { token: me.bearer })).body.items).toEqual([]);
  });

  it("writes in SQL exactly the plan the pure builder describes", async () => {
    const cases = [
      ["ASSOCIATE", "HIGH_SCORE", 40],
      ["FUTURE", "PRACTICAL", 30],
      ["PROFESSIONAL", "PASS_FIRST", 28],
      ["BASIC", "PASS_FIRST", 27],
      ["JUNIOR", "HIGH_SCORE", 3],
      ["BASIC", "PRACTICAL", 2],
      ["ASSOCIATE", "PASS_FIRST", 1],
    ] as const;
    for (const [level, targetType, days] of cases) {
      const who = await withProfile({ level, targetType, examDate: inDays(days) });
      const res = await post(who);
      expect(res.status).toBe(201);
      const expected = buildPlan({ level, targetType, startDate: today(), examDate: inDays(days) });
      expect(res.body.compressionFlag).toBe(expected.compressionFlag);
      expect(res.body.compression).toEqual(expected.compression);
      const key = (t: { taskDate: string; taskType: string; estMinutes: number }) => `${t.taskDate} ${t.taskType} ${t.estMinutes}`;
      const order = ["MOCK", "LAB", "REVIEW", "DRILL"];
      const sortKey = (t: { taskDate: string; taskType: string }) => `${t.taskDate}${order.indexOf(t.taskType)}`;
      const written = (await tasksOf(who, res.body.id)).map(key);
      // The API lists a day's tasks mock, lab, review, drill; the builder's order within a day differs only after a mock.
      expect(written, `${level} ${targetType} ${days}`).toEqual([...expected.tasks].sort((x, y) => sortKey(x).localeCompare(sortKey(y))).map(key));
    }
  });

  it("moves tasks TODO → DONE | SKIPPED only; a DONE targeted drill emits MISTAKE_DRILL_COMPLETED", async () => {
    const me = await withProfile();
    const mistakeId = crypto.randomUUID();
    await runAs(db, learner(me.sub), [db.insert(mistakeStats).values({ id: mistakeId, userId: me.sub, errorCode: "E_SHAPE", occurrences: 3 })] as const);
    const plan = (await post(me)).body;
    const tasks = await tasksOf(me, plan.id);
    const drill = tasks.find((t) => t.taskType === "DRILL")!;
    const lab = tasks.find((t) => t.taskType === "LAB")!;
    const patch = (taskId: string, status: string, who = me) =>
      call("PATCH", `/api/v1/exam/plans/${plan.id}/tasks/${taskId}`, { token: who.bearer, body: { status } });

    const done = await patch(drill.id, "DONE");
    expect(done.body).toMatchObject({ id: drill.id, status: "DONE", refId: mistakeId });
    await expectTrips(done.requestId, 1);
    const [event] = await eventsOf(drill.id, "MISTAKE_DRILL_COMPLETED");
    expect(event).toMatchObject({ system: "exam", actorId: me.sub, entityId: drill.id });
    expect(event!.payload).toEqual({ taskId: drill.id, planId: plan.id, mistakeId, errorCode: "E_SHAPE" });

    const again = await patch(drill.id, "SKIPPED");
    expectProblem(again, 409, "invalid_state");
    expect(again.body.currentStatus).toBe("DONE");
    await expectTrips(again.requestId, 1);
    expect(await eventsOf(drill.id)).toHaveLength(1);

    expect((await patch(lab.id, "SKIPPED")).body.status).toBe("SKIPPED");
    expect((await patch(lab.id, "DONE")).body.currentStatus).toBe("SKIPPED");
    expect(await eventsOf(lab.id)).toEqual([]);
    expectProblem(await patch(lab.id, "TODO"), 422, "validation_failed");
    expectProblem(await patch(crypto.randomUUID(), "DONE"), 404, "not_found");

    // Two concurrent completions of one task: exactly one wins and one event is written.
    const other = tasks.filter((t) => t.taskType === "DRILL")[1]!;
    const race = await Promise.all([patch(other.id, "DONE"), patch(other.id, "DONE")]);
    expect(race.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(await eventsOf(other.id, "MISTAKE_DRILL_COMPLETED")).toHaveLength(1);
  });

  it("are the owner's alone", async () => {
    const me = await withProfile();
    const plan = (await post(me)).body;
    const [task] = await tasksOf(me, plan.id);
    const other = await withProfile();
    expectProblem(await call("GET", `/api/v1/exam/plans/${plan.id}`, { token: other.bearer }), 404, "not_found");
    expectProblem(await call("GET", `/api/v1/exam/plans/${plan.id}/tasks`, { token: other.bearer }), 404, "not_found");
    expectProblem(await call("PATCH", `/api/v1/exam/plans/${plan.id}/tasks/${task!.id}`, { token: other.bearer, body: { status: "DONE" } }), 404, "not_found");
    expectProblem(await call("POST", `/api/v1/exam/plans/${plan.id}/replan`, { token: other.bearer }), 404, "not_found");
    expect((await call("GET", "/api/v1/exam/plans", { token: other.bearer })).body.items).toEqual([]);
    expect((await tasksOf(me, plan.id))[0]!.status).toBe("TODO");
  });

  it("re-plans from today with the current profile, keeping DONE tasks and replacing the rest", async () => {
    const me = await withProfile({ examDate: inDays(40), targetType: "HIGH_SCORE" });
    const plan = (await post(me)).body;
    const before = await tasksOf(me, plan.id);
    const doneIds = before.slice(0, 3).map((t) => t.id);
    for (const id of doneIds) await call("PATCH", `/api/v1/exam/plans/${plan.id}/tasks/${id}`, { token: me.bearer, body: { status: "DONE" } });
    await call("PATCH", `/api/v1/exam/plans/${plan.id}/tasks/${before[5]!.id}`, { token: me.bearer, body: { status: "SKIPPED" } });

    await call("PUT", "/api/v1/exam/profile", { token: me.bearer, body: { level: "ASSOCIATE", examDate: inDays(20), targetType: "PRACTICAL" } });
    const res = await call("POST", `/api/v1/exam/plans/${plan.id}/replan`, { token: me.bearer });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: plan.id, examDate: inDays(20), compressionFlag: true, startDate: plan.startDate });
    const after = await tasksOf(me, plan.id);
    expect(after.filter((t) => t.status === "DONE").map((t) => t.id).sort()).toEqual([...doneIds].sort());
    expect(after.filter((t) => t.status === "SKIPPED")).toEqual([]);
    const rebuilt = after.filter((t) => t.status === "TODO");
    expect(rebuilt.length).toBe(Object.values(res.body.tasksByType as Record<string, number>).reduce((a, b) => a + b, 0));
    expect(rebuilt.every((t) => t.taskDate >= today() && t.taskDate < inDays(20))).toBe(true);
    expect(before.some((t) => rebuilt.some((r) => r.id === t.id))).toBe(false);
  });

  it("take one round trip whether or not the profile is cached, and validate their parameters", async () => {
    const me = await caller();
    await call("PUT", "/api/v1/exam/profile", { token: me.bearer, body: { level: "BASIC", examDate: inDays(30), targetType: "PASS_FIRST" } });
    const res = await post(me);
    expect(res.status).toBe(201);
    await expectTrips(res.requestId, 1);
    const replanned = await call("POST", `/api/v1/exam/plans/${res.body.id}/replan`, { token: me.bearer });
    expect(replanned.status).toBe(200);
    await expectTrips(replanned.requestId, 1);

    // Once the exam date is today there is nothing left to plan: 422, and the tasks stay.
    const before = await tasksOf(me, res.body.id);
    await call("PUT", "/api/v1/exam/profile", { token: me.bearer, body: { level: "BASIC", examDate: today(), targetType: "PASS_FIRST" } });
    const late = await call("POST", `/api/v1/exam/plans/${res.body.id}/replan`, { token: me.bearer });
    expectProblem(late, 422, "plan_out_of_range");
    await expectTrips(late.requestId, 1);
    expect(await tasksOf(me, res.body.id)).toEqual(before);
    expectProblem(await call("GET", "/api/v1/exam/plans/not-a-uuid", { token: me.bearer }), 422, "validation_failed");
    expectProblem(await call("GET", `/api/v1/exam/plans/${res.body.id}/tasks?from=${inDays(3)}&to=${inDays(1)}`, { token: me.bearer }), 422, "validation_failed");
  });
});
