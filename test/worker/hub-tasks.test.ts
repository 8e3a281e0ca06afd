import type { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { runDueTasks } from "../../src/hub/jobs";
import type { Task, TaskPage, TaskRun, TaskRunPage } from "../../src/hub/tasks.routes";
import { call, expectProblem, roundTrips, testEnv, type CallResult } from "./helpers";
import { admin, adminSql, createStudent, event, ingest, school, sql, teacher } from "./hub-helpers";

const hub = "/api/v1/hub";
type TaskBody = z.infer<typeof Task>;
type RunBody = z.infer<typeof TaskRun>;

async function setup() {
  const schoolId = school();
  const bearer = await teacher(schoolId);
  const student = await createStudent(bearer, { schoolId });
  return { schoolId, bearer, student };
}

const runsOf = async (taskId: string) =>
  adminSql<{ id: string; report: Record<string, unknown> }>(sql`select id, report from hub.task_runs where task_id = ${taskId}`);

describe("hub scheduled tasks", () => {
  it("are created with a server-computed next run, read, listed, paused, rescheduled and deleted", async () => {
    const { bearer, student } = await setup();
    const created = await call<TaskBody>("POST", `${hub}/tasks`, {
      token: bearer,
      body: { studentId: student.id, taskType: "daily_report", scheduleType: "cron", cronExpression: "0 9 * * *", config: { report_format: "json" } },
    });
    expect(created.status).toBe(201);
    expect((await roundTrips(created.requestId)).neon).toBe(1);
    const next = new Date(created.body.nextRunAt!);
    expect(next.getUTCHours()).toBe(9);
    expect(next.getUTCMinutes()).toBe(0);
    expect(next.getTime() - Date.now()).toBeGreaterThan(0);
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(86_400_000);
    expect(created.body).toMatchObject({ status: "active", lastRunAt: null, celeryTaskId: null, intervalSeconds: null });
    const id = created.body.id;

    const read = await call<TaskBody>("GET", `${hub}/tasks/${id}`, { token: bearer });
    expect(read.body).toEqual(created.body);
    expect((await roundTrips(read.requestId)).neon).toBe(1);
    const listed = await call<z.infer<typeof TaskPage>>("GET", `${hub}/tasks?studentId=${student.id}`, { token: bearer });
    expect(listed.body.items.map((t) => t.id)).toEqual([id]);
    expect((await roundTrips(listed.requestId)).neon).toBe(1);

    const paused = await call<TaskBody>("PATCH", `${hub}/tasks/${id}`, { token: bearer, body: { status: "paused" } });
    expect(paused.body.status).toBe("paused");
    expect((await roundTrips(paused.requestId)).neon).toBe(1);
    const interval = await call<TaskBody>("PATCH", `${hub}/tasks/${id}`, { token: bearer, body: { status: "active", schedule: { scheduleType: "interval", intervalSeconds: 3600 } } });
    expect(interval.body).toMatchObject({ status: "active", scheduleType: "interval", intervalSeconds: 3600, cronExpression: null });
    expect(Math.abs(Date.parse(interval.body.nextRunAt!) - (Date.now() + 3600_000))).toBeLessThan(60_000);

    const deleted = await call("DELETE", `${hub}/tasks/${id}`, { token: bearer });
    expect(deleted.status).toBe(204);
    expect((await roundTrips(deleted.requestId)).neon).toBe(1);
    expectProblem(await call("GET", `${hub}/tasks/${id}`, { token: bearer }), 404, "not_found");
  });

  it("validates schedules: cron expressions, the field each type needs, task scope", async () => {
    const { bearer, student } = await setup();
    const post = (body: Record<string, unknown>, token = bearer) =>
      call("POST", `${hub}/tasks`, { token, body: { studentId: student.id, taskType: "daily_report", ...body } });
    const bad = async (body: Record<string, unknown>, path: string) => {
      const res = await post(body);
      expectProblem(res, 422, "validation_failed");
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
      expect((await roundTrips(res.requestId)).neon).toBe(0);
    };
    await bad({ scheduleType: "cron", cronExpression: "61 * * * *" }, "json.cronExpression");
    await bad({ scheduleType: "cron", cronExpression: "*/5 * * * * *" }, "json.cronExpression");
    await bad({ scheduleType: "cron" }, "json.cronExpression");
    await bad({ scheduleType: "interval", intervalSeconds: 10 }, "json.intervalSeconds");
    await bad({ scheduleType: "one_time" }, "json.runAt");
    await bad({ scheduleType: "one_time", runAt: new Date().toISOString(), cronExpression: "0 9 * * *" }, "json.cronExpression");
    await bad({ scheduleType: "hourly" }, "json.scheduleType");
    await bad({ studentId: null, scheduleType: "interval", intervalSeconds: 60 }, "json.studentId");

    const weekly = { studentId: null, taskType: "weekly_analytics", scheduleType: "cron", cronExpression: "0 10 * * 1" };
    expectProblem(await post(weekly), 403, "admin_only");
    expect((await post(weekly, await admin())).status).toBe(201);
    expectProblem(await post({ studentId: crypto.randomUUID(), scheduleType: "interval", intervalSeconds: 60 }), 404, "not_found");
  });

  it("runs due tasks from the every-minute job: reports stored and served, next runs set, one_time completed", async () => {
    const { schoolId, bearer, student } = await setup();
    await ingest(bearer, student.id, [
      event({ content: { concept: "fractions", result: "correct", time_spent: 100 } }),
      event({ eventType: "test", content: { concept: "fractions", result: "incorrect", time_spent: 50 } }),
      event({ content: { concept: "algebra", result: "correct", time_spent: 30 } }),
    ]);
    const runAt = new Date(Date.now() + 1000).toISOString();
    const once = await call("POST", `${hub}/tasks`, { token: bearer, body: { studentId: student.id, taskType: "daily_report", scheduleType: "one_time", runAt, config: { window_hours: 48 } } });
    const cron = await call("POST", `${hub}/tasks`, { token: bearer, body: { studentId: student.id, taskType: "daily_report", scheduleType: "cron", cronExpression: "*/5 * * * *" } });
    const root = await admin();
    const weekly = await call("POST", `${hub}/tasks`, {
      token: root,
      body: { taskType: "weekly_analytics", scheduleType: "interval", intervalSeconds: 86_400, config: { school_id: schoolId } },
    });
    // Weekly first runs a day from now: the tick below is "a day and ten minutes from now".
    const tick = Date.now() + 86_400_000 + 600_000;
    const report = await runDueTasks(testEnv, tick);
    expect(report.failed).toBe(0);
    const mine = [once.body.id, cron.body.id, weekly.body.id];
    expect(report.runs.filter((r: { taskId: string }) => mine.includes(r.taskId))).toHaveLength(3);

    const doneOnce = (await call("GET", `${hub}/tasks/${once.body.id}`, { token: bearer })).body;
    expect(doneOnce).toMatchObject({ status: "completed", nextRunAt: null, lastRunAt: new Date(tick).toISOString() });
    const doneCron = (await call("GET", `${hub}/tasks/${cron.body.id}`, { token: bearer })).body;
    expect(doneCron.status).toBe("active");
    expect(Date.parse(doneCron.nextRunAt)).toBeGreaterThan(tick);
    expect(Date.parse(doneCron.nextRunAt) % 300_000).toBe(0);

    const runs = await call<z.infer<typeof TaskRunPage>>("GET", `${hub}/tasks/${once.body.id}/runs`, { token: bearer });
    expect((await roundTrips(runs.requestId)).neon).toBe(1);
    expect(runs.body.items).toHaveLength(1);
    const run = runs.body.items[0]!;
    expect(doneOnce.celeryTaskId).toBe(run.id);
    // The report covers config.window_hours (48) before the tick, a day ahead: today's events are in it.
    expect(run.report).toMatchObject({
      task_type: "daily_report",
      student: { id: student.id, school_id: schoolId },
      graded_attempts: 3,
      accuracy: 0.67,
      time_spent: 180,
      events_by_type: { study: 2, test: 1 },
      concepts: [{ concept: "algebra", attempts: 1, accuracy: 1 }, { concept: "fractions", attempts: 2, accuracy: 0.5 }],
    });
    const one = await call<RunBody>("GET", `${hub}/tasks/${once.body.id}/runs/${run.id}`, { token: bearer });
    expect(one.body).toEqual(run);
    expect((await roundTrips(one.requestId)).neon).toBe(1);

    const weeklyRun = (await call("GET", `${hub}/tasks/${weekly.body.id}/runs`, { token: root })).body.items[0];
    expect(weeklyRun.report).toMatchObject({
      task_type: "weekly_analytics",
      scope: schoolId,
      schools: [{ school_id: schoolId, students: 1, active_students: 1, events: 3, graded_attempts: 3, accuracy: 0.67 }],
    });
    // A teacher does not see the global task or its runs.
    expectProblem(await call("GET", `${hub}/tasks/${weekly.body.id}/runs`, { token: bearer }), 404, "not_found");

    // Nothing is due again at the same tick.
    const again = await runDueTasks(testEnv, tick);
    expect(again.runs.filter((r: { taskId: string }) => mine.includes(r.taskId))).toEqual([]);
    expectProblem(await call("PATCH", `${hub}/tasks/${once.body.id}`, { token: bearer, body: { status: "active" } }), 409, "task_completed");
  });

  it("lists tasks and runs newest first in keyset pages", async () => {
    const { bearer, student } = await setup();
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await call<TaskBody>("POST", `${hub}/tasks`, {
        token: bearer,
        body: { studentId: student.id, taskType: "daily_report", scheduleType: "interval", intervalSeconds: 60 },
      });
      made.push(res.body.id);
    }
    const pages = async <T extends { id: string }>(path: string) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: CallResult<{ items: T[]; nextCursor: string | null }> = await call("GET", `${path}${cursor ? `&cursor=${cursor}` : ""}`, { token: bearer });
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.items.map((t) => t.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      return seen;
    };
    expect(await pages<TaskBody>(`${hub}/tasks?studentId=${student.id}&limit=2`)).toEqual([...made].reverse());

    // Three ticks, a minute apart: the first task's runs, newest first.
    const first = made[0]!;
    for (const minutes of [2, 4, 6]) await runDueTasks(testEnv, Date.now() + minutes * 60_000);
    const runIds = (await runsOf(first)).map((r) => r.id);
    expect(runIds).toHaveLength(3);
    const listed = await pages<RunBody>(`${hub}/tasks/${first}/runs?limit=2`);
    expect([...listed].sort()).toEqual([...runIds].sort());
    const times = await adminSql<{ id: string }>(sql`select id from hub.task_runs where task_id = ${first} order by created_at desc, id desc`);
    expect(listed).toEqual(times.map((r) => r.id));
  });

  it("never runs a task twice when two ticks overlap", async () => {
    const { bearer, student } = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await call("POST", `${hub}/tasks`, {
        token: bearer,
        body: { studentId: student.id, taskType: "daily_report", scheduleType: "interval", intervalSeconds: 60 },
      });
      ids.push(res.body.id);
    }
    const tick = Date.now() + 3600_000;
    const [a, b] = await Promise.all([runDueTasks(testEnv, tick), runDueTasks(testEnv, tick)]);
    const claimedA = a.runs.map((r: { taskId: string }) => r.taskId).filter((id: string) => ids.includes(id));
    const claimedB = b.runs.map((r: { taskId: string }) => r.taskId).filter((id: string) => ids.includes(id));
    expect([...claimedA, ...claimedB].sort()).toEqual([...ids].sort());
    expect(claimedA.filter((id: string) => claimedB.includes(id))).toEqual([]);
    for (const id of ids) expect(await runsOf(id)).toHaveLength(1);
  });
});
