import { count, eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { describe, expect, it } from "vitest";
import { eventMetrics } from "../../src/exam/events-schema";
import { sessions, stepSubmissions } from "../../src/exam/schema";
import { interventions, scheduledTasks, students } from "../../src/hub/schema";
import { featuresTopicDaily } from "../../src/seedtest/schema";
import { call, expectProblem, token, type CallResult } from "./helpers";
import { caller, db, runningSession } from "./exam-helpers";
import { createStudent, event, ingest, school, teacher } from "./hub-helpers";
import { PRIVILEGED, spoofedRoleSets, spoofsOf } from "./platform-spoofed-roles";

const hub = "/api/v1/hub";
const seed = "/api/v1/seedtest";
const org = () => String(100_000 + Math.floor(Math.random() * 2_000_000_000));

/** What the request answered, for a readable failure. */
const seen = (res: CallResult) => `${res.status} ${JSON.stringify(res.body).slice(0, 200)}`;

/** One learner's lab session with a submission, made through the API. */
async function examWorld() {
  const owner = await caller();
  const session = await runningSession(owner);
  const submitted = await call("POST", `/api/v1/exam/sessions/${session.id}/steps/1/submissions`, {
    token: owner.bearer,
    body: { result: "PASS", score: 90, runtimeMs: 1 },
  });
  expect(submitted.status).toBe(201);
  return { owner, session };
}

/** A school with a student, an event, an intervention and a task, made by its teacher. */
async function hubWorld() {
  const schoolId = school();
  const bearer = await teacher(schoolId);
  const student = await createStudent(bearer, { schoolId });
  expect((await ingest(bearer, student.id, [event()])).status).toBe(201);
  const intervention = await call("POST", `${hub}/students/${student.id}/interventions`, {
    token: bearer,
    body: { type: "teacher_requested", weakAreas: [{ concept: "x" }], learningPath: [{ step: 1, activity: "a" }] },
  });
  const task = await call("POST", `${hub}/tasks`, {
    token: bearer,
    body: { studentId: student.id, taskType: "daily_report", scheduleType: "cron", cronExpression: "0 9 * * *" },
  });
  expect([intervention.status, task.status]).toEqual([201, 201]);
  return { schoolId, student, interventionId: intervention.body.id as string, taskId: task.body.id as string };
}

/** A learner's features (written by an admin) and a classroom of an org, with its teacher. */
async function seedtestWorld() {
  const learner = crypto.randomUUID();
  const orgId = org();
  const features = await call("PUT", `${seed}/features/${learner}/algebra/2026-11-20`, {
    token: await token({ roles: ["admin"] }),
    body: { features: { accuracy: 0.5 } },
  });
  expect(features.status).toBe(201);
  const teacherToken = await token({ roles: ["teacher"], tenant_id: orgId });
  const room = await call("POST", `${seed}/classrooms`, { token: teacherToken, body: { name: "room", orgId: Number(orgId) } });
  expect(room.status).toBe(201);
  return { learner, orgId, classroomId: room.body.classroomId as string };
}

describe("spoofed roles through the API", () => {
  it("reach no other learner's exam session, submissions, analytics or audit trail", async () => {
    const { owner, session } = await examWorld();
    const reviewer = await token({ roles: ["learner", "reviewer"] });
    expect((await call("GET", `/api/v1/exam/sessions/${session.id}/submissions`, { token: reviewer })).status).toBe(200);

    await Promise.all(
      spoofedRoleSets().map(async ({ kind, roles }) => {
        const bearer = await token({ roles: ["learner", ...roles] });
        const get = (path: string) => call("GET", `/api/v1/exam${path}`, { token: bearer });
        const got = await get(`/sessions/${session.id}`);
        expect(got.status, `${kind}: ${seen(got)}`).toBe(404);
        const subs = await get(`/sessions/${session.id}/submissions`);
        expect(subs.status, `${kind}: ${seen(subs)}`).toBe(404);
        expectProblem(await get(`/sessions?userId=${owner.sub}`), 403, "forbidden");
        expectProblem(await get("/analytics/summary"), 403, "forbidden");
        expectProblem(await get("/audit/policy-events"), 403, "forbidden");
        for (const move of ["review", "force-close"]) {
          expectProblem(await call("POST", `/api/v1/exam/sessions/${session.id}/${move}`, { token: bearer }), 403, "forbidden");
        }
      }),
    );
  });

  it("reach no other school's hub students, events, interventions or tasks, and never the service role's rows", async () => {
    const w = await hubWorld();
    const otherSchool = school();
    const root = await token({ roles: ["admin"] });
    expect((await call("GET", `${hub}/students/${w.student.id}`, { token: root })).status).toBe(200);

    const tokens = spoofedRoleSets().flatMap(({ kind, roles }) => [
      // A student of the school, or a teacher of another, each with a spoofed admin/teacher/service.
      { kind: `student + ${kind}`, bearer: token({ roles: ["student", ...roles], tenant_id: w.schoolId }) },
      { kind: `other teacher + ${kind}`, bearer: token({ roles: ["teacher", ...roles], tenant_id: otherSchool }) },
    ]);
    await Promise.all(
      tokens.map(async ({ kind, bearer }) => {
        const get = async (path: string) => call("GET", `${hub}${path}`, { token: await bearer });
        for (const path of [
          `/students/${w.student.id}`,
          `/students/${w.student.id}/events`,
          `/students/${w.student.id}/interventions`,
          `/interventions/${w.interventionId}`,
          `/tasks/${w.taskId}`,
        ]) {
          const res = await get(path);
          expect(res.status, `${kind} ${path}: ${seen(res)}`).toBe(404);
        }
        const listed = await get(`/students?schoolId=${w.schoolId}`);
        expect(listed.body.items, `${kind}: ${seen(listed)}`).toEqual([]);
        const tasks = await get(`/tasks?studentId=${w.student.id}`);
        expect(tasks.body.items ?? [], `${kind}: ${seen(tasks)}`).toEqual([]);
        expectProblem(await get(`/archive/students/${w.student.id}/events`), 403, "admin_only");
      }),
    );
  });

  it("forge no seedtest features and change no classroom", async () => {
    const w = await seedtestWorld();
    await Promise.all(
      spoofedRoleSets().map(async ({ kind, roles }) => {
        const bearer = await token({ roles: ["learner", ...roles], tenant_id: w.orgId });
        const forged = await call("PUT", `${seed}/features/${w.learner}/algebra/2026-11-20`, { token: bearer, body: { features: { accuracy: 1 } } });
        expect(forged.status, `${kind}: ${seen(forged)}`).toBe(403);
        const fresh = await call("PUT", `${seed}/features/${crypto.randomUUID()}/algebra/2026-11-20`, { token: bearer, body: { features: {} } });
        expect(fresh.status, `${kind}: ${seen(fresh)}`).toBe(403);
        const features = await call("GET", `${seed}/features?userId=${w.learner}`, { token: bearer });
        expect(features.body.items, `${kind}: ${seen(features)}`).toEqual([]);
        const renamed = await call("PATCH", `${seed}/classrooms/${w.classroomId}`, { token: bearer, body: { name: "taken" } });
        expect(renamed.status, `${kind}: ${seen(renamed)}`).toBe(403);
        const created = await call("POST", `${seed}/classrooms`, { token: bearer, body: { name: "mine", orgId: Number(w.orgId) } });
        expect(created.status, `${kind}: ${seen(created)}`).toBe(403);
      }),
    );
    const admin = await token({ roles: ["admin"] });
    const after = await call("GET", `${seed}/features?userId=${w.learner}`, { token: admin });
    expect(after.body.items.map((f: { features: unknown }) => f.features)).toEqual([{ accuracy: 0.5 }]);
    expect((await call("GET", `${seed}/classrooms/${w.classroomId}`, { token: admin })).body.name).toBe("room");
  });

  it("counts as no role at all, even when every role in the token is spoofed", async () => {
    for (const { kind, roles } of spoofedRoleSets()) {
      const res = await call("GET", "/api/v1/me", { token: await token({ roles }) });
      expect(res.status, kind).toBe(200);
      expect(res.body.roles, kind).toEqual([]);
    }
    const res = await call("GET", "/api/v1/me", { token: await token({ roles: ["teacher", "Teacher", "teacher", 7, null, "admin "] }) });
    expect(res.body.roles).toEqual(["teacher"]);
  });
});

describe("spoofed roles in Postgres, as app_api", () => {
  /** The statements' results, run as app_api with app.roles set to exactly `roles` (the API's parse bypassed). */
  async function withRoles(roles: string, tenant: string, statements: (userId: string) => BatchItem<"pg">[]): Promise<any[]> {
    const identity = db.execute(
      sql`select set_config('app.user_id', ${crypto.randomUUID()}, true), set_config('app.tenant_id', ${tenant}, true), set_config('app.roles', ${roles}, true)`,
    );
    const [, ...results] = await db.batch([identity, ...statements(crypto.randomUUID())] as [BatchItem<"pg">, ...BatchItem<"pg">[]]);
    return results;
  }

  /** The rows each raw setting would reach: another learner's session and submissions, another school's student, a learner's features, the exam metrics. */
  async function reach(roles: string, w: { session: string; student: string; schoolId: string; learner: string }) {
    const [sessionRows, submissionRows, studentRows, featureRows, metricRows, held] = await withRoles(roles, w.schoolId, () => [
      db.select({ n: count() }).from(sessions).where(eq(sessions.id, w.session)),
      db.select({ n: count() }).from(stepSubmissions).where(eq(stepSubmissions.sessionId, w.session)),
      db.select({ n: count() }).from(students).where(eq(students.id, w.student)),
      db.select({ n: count() }).from(featuresTopicDaily).where(eq(featuresTopicDaily.userId, w.learner)),
      db.select({ n: count() }).from(eventMetrics),
      db.execute<{ held: string[] }>(
        sql`select array_remove(array[${sql.join(PRIVILEGED.map((r) => sql`case when app.has_role(${r}) then ${r}::text end`), sql`, `)}], null) as held`,
      ),
    ]);
    return {
      session: sessionRows[0]!.n,
      submissions: submissionRows[0]!.n,
      student: studentRows[0]!.n,
      features: featureRows[0]!.n,
      metrics: metricRows[0]!.n > 0,
      held: held.rows[0]!.held,
    };
  }

  /** The settings the 0001 definition split and trimmed into roles, and every spoof of every role. */
  const RAW = [
    "admin",
    "service",
    "admin ",
    " proctor",
    "service ",
    "learner,admin",
    "learner, reviewer",
    "teacher , student",
    '["admin "]',
    '["Admin"]',
    '[ "admin" ]',
    '["adm\\u0069n"]',
    '["learner","ADMIN"]',
    '{"admin":true}',
    '"admin"',
    '["admin"',
    "",
    // NUL cannot reach Postgres at all; the JSON-array spoof is this very form, exercised by the controls.
    ...PRIVILEGED.flatMap(spoofsOf).filter((r) => !r.includes("\u0000") && !r.startsWith("[")),
    ...PRIVILEGED.map((r) => `["${r}"]`).map((r) => r.replace('"]', ' "]')),
  ];

  it("grants nothing for any setting but the JSON array of exact names, and never errors", async () => {
    const { session } = await examWorld();
    const h = await hubWorld();
    const s = await seedtestWorld();
    const w = { session: session.id, student: h.student.id, schoolId: h.schoolId, learner: s.learner };

    // The control: the exact form reaches what each role may, so the assertions below can fail.
    expect(await reach('["admin"]', w)).toMatchObject({ session: 1, submissions: 1, student: 1, features: 1, held: ["admin"] });
    expect(await reach('["learner","reviewer"]', w)).toMatchObject({ session: 1, submissions: 1, student: 0, features: 0, held: ["reviewer"] });
    expect(await reach('["service"]', w)).toMatchObject({ student: 1, features: 1, held: ["service"] });
    expect(await reach('["teacher"]', w)).toMatchObject({ student: 1, held: ["teacher"] });

    const nothing = { session: 0, submissions: 0, student: 0, features: 0, metrics: false, held: [] };
    const results = await Promise.all(RAW.map(async (roles) => ({ roles, reached: await reach(roles, w) })));
    for (const { roles, reached } of results) expect(reached, JSON.stringify(roles)).toEqual(nothing);
  });

  it("refuses every spoofed write: forged features, another school's student, the service role's tasks", async () => {
    const h = await hubWorld();
    for (const roles of RAW) {
      const features = withRoles(roles, h.schoolId, (userId) => [
        db.insert(featuresTopicDaily).values({ userId: userId, topicId: "algebra", date: "2026-11-20", features: {} }),
      ]);
      await expect(features, JSON.stringify(roles)).rejects.toMatchObject({ code: "42501" });
      const changed = await withRoles(roles, h.schoolId, () => [
        db.update(students).set({ name: "taken" }).where(eq(students.id, h.student.id)).returning({ id: students.id }),
        db.delete(scheduledTasks).where(eq(scheduledTasks.id, h.taskId)).returning({ id: scheduledTasks.id }),
        db.delete(interventions).where(eq(interventions.id, h.interventionId)).returning({ id: interventions.id }),
      ]);
      expect(changed, JSON.stringify(roles)).toEqual([[], [], []]);
    }
  });
});
