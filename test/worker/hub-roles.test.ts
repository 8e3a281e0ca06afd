import type { z } from "@hono/zod-openapi";
import { count, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { students } from "../../src/hub/schema";
import type { StudentPage } from "../../src/hub/students.routes";
import type { TaskPage } from "../../src/hub/tasks.routes";
import { loadConfig } from "../../src/platform/config";
import { createDatabase, runAs } from "../../src/platform/db";
import { call, expectProblem, testEnv, token } from "./helpers";
import { admin, createStudent, event, ingest, school, studentToken, teacher } from "./hub-helpers";

const hub = "/api/v1/hub";
type Page = z.infer<typeof StudentPage>;

async function world() {
  const [schoolA, schoolB] = [school(), school()];
  const [teacherA, teacherB] = [await teacher(schoolA), await teacher(schoolB)];
  const userId = crypto.randomUUID();
  const mine = await createStudent(teacherA, { schoolId: schoolA, userId });
  const classmate = await createStudent(teacherA, { schoolId: schoolA });
  const elsewhere = await createStudent(teacherB, { schoolId: schoolB });
  return { schoolA, schoolB, teacherA, teacherB, userId, mine, classmate, elsewhere, own: await studentToken(userId) };
}

describe("hub roles", () => {
  it("a teacher sees and changes only their school's students and records", async () => {
    const w = await world();
    expect((await call("GET", `${hub}/students/${w.elsewhere.id}`, { token: w.teacherA })).status).toBe(404);
    const list = await call<Page>("GET", `${hub}/students?limit=100`, { token: w.teacherA });
    expect(list.body.items.every((s) => s.schoolId === w.schoolA)).toBe(true);
    expect(list.body.items.map((s) => s.id)).toEqual(expect.arrayContaining([w.mine.id, w.classmate.id]));

    expectProblem(await call("POST", `${hub}/students`, { token: w.teacherA, body: { name: "X", schoolId: w.schoolB, grade: 1 } }), 403, "other_school");
    expectProblem(await call("PATCH", `${hub}/students/${w.elsewhere.id}`, { token: w.teacherA, body: { grade: 2 } }), 404, "not_found");
    expectProblem(await call("PATCH", `${hub}/students/${w.mine.id}`, { token: w.teacherA, body: { schoolId: w.schoolB } }), 403, "other_school");
    expectProblem(await call("DELETE", `${hub}/students/${w.elsewhere.id}`, { token: w.teacherA }), 404, "not_found");
    expectProblem(await ingest(w.teacherA, w.elsewhere.id, [event()]), 404, "not_found");
    expectProblem(await call("GET", `${hub}/students/${w.elsewhere.id}/events`, { token: w.teacherA }), 404, "not_found");
    expectProblem(
      await call("POST", `${hub}/students/${w.elsewhere.id}/interventions`, { token: w.teacherA, body: { type: "auto", weakAreas: [{ concept: "x" }], learningPath: [{ step: 1, activity: "a" }] } }),
      404,
      "not_found",
    );
    expectProblem(
      await call("POST", `${hub}/tasks`, { token: w.teacherA, body: { studentId: w.elsewhere.id, taskType: "daily_report", scheduleType: "interval", intervalSeconds: 60 } }),
      404,
      "not_found",
    );
    expectProblem(await call("GET", `${hub}/students`, { token: await token({ roles: ["teacher"] }) }), 403, "school_required");
  });

  it("a student token sees only that student's records and changes nothing", async () => {
    const w = await world();
    await ingest(w.teacherA, w.mine.id, [event()]);
    await ingest(w.teacherA, w.classmate.id, [event()]);
    const iv = await call("POST", `${hub}/students/${w.mine.id}/interventions`, {
      token: w.teacherA,
      body: { type: "teacher_requested", weakAreas: [{ concept: "x" }], learningPath: [{ step: 1, activity: "a" }] },
    });
    const task = await call("POST", `${hub}/tasks`, {
      token: w.teacherA,
      body: { studentId: w.mine.id, taskType: "daily_report", scheduleType: "cron", cronExpression: "0 9 * * *" },
    });

    expect((await call("GET", `${hub}/students/${w.mine.id}`, { token: w.own })).body.userId).toBe(w.userId);
    const list = await call<Page>("GET", `${hub}/students`, { token: w.own });
    expect(list.body.items.map((s) => s.id)).toEqual([w.mine.id]);
    expect((await call("GET", `${hub}/students/${w.mine.id}/events`, { token: w.own })).body.items).toHaveLength(1);
    expect((await call("GET", `${hub}/interventions/${iv.body.id}`, { token: w.own })).status).toBe(200);
    expect((await call("GET", `${hub}/tasks/${task.body.id}`, { token: w.own })).status).toBe(200);
    expect((await call<z.infer<typeof TaskPage>>("GET", `${hub}/tasks`, { token: w.own })).body.items.map((t) => t.id)).toEqual([task.body.id]);

    expectProblem(await call("GET", `${hub}/students/${w.classmate.id}`, { token: w.own }), 404, "not_found");
    expectProblem(await call("GET", `${hub}/students/${w.classmate.id}/events`, { token: w.own }), 404, "not_found");
    expectProblem(await ingest(w.own, w.mine.id, [event()]), 403, "staff_only");
    expectProblem(await call("PATCH", `${hub}/students/${w.mine.id}`, { token: w.own, body: { name: "Me" } }), 403, "staff_only");
    expectProblem(await call("POST", `${hub}/interventions/${iv.body.id}/status`, { token: w.own, body: { status: "cancelled" } }), 403, "staff_only");
    expectProblem(await call("DELETE", `${hub}/tasks/${task.body.id}`, { token: w.own }), 403, "staff_only");
    // An account with no student row sees nothing.
    expect((await call("GET", `${hub}/students`, { token: await studentToken(crypto.randomUUID()) })).body.items).toEqual([]);
  });

  it("an admin sees every school; tokens without a hub role, or claiming the service role, are refused", async () => {
    const w = await world();
    const root = await admin();
    for (const s of [w.mine, w.elsewhere]) expect((await call("GET", `${hub}/students/${s.id}`, { token: root })).status).toBe(200);
    expect((await call("PATCH", `${hub}/students/${w.elsewhere.id}`, { token: root, body: { grade: 4 } })).body.grade).toBe(4);
    expectProblem(await call("GET", `${hub}/students`, { token: await token() }), 403, "hub_role_required");
    expectProblem(await call("GET", `${hub}/students`, { token: await token({ roles: ["admin", "service"] }) }), 403, "service_role_reserved");
  });

  it("is enforced by row-level security as well, whatever the route code does", async () => {
    const w = await world();
    const db = createDatabase(loadConfig(testEnv), "hub-rls-test");
    const visible = async (principal: Parameters<typeof runAs>[1], id: string) =>
      (await runAs(db, principal, [db.select({ n: count() }).from(students).where(eq(students.id, id))] as const))[0][0]!.n;
    const teacherA = { userId: crypto.randomUUID(), tenantId: w.schoolA, roles: ["teacher"], permissions: [] };
    expect(await visible(teacherA, w.mine.id)).toBe(1);
    expect(await visible(teacherA, w.elsewhere.id)).toBe(0);
    expect(await visible({ userId: w.userId, tenantId: null, roles: ["student"], permissions: [] }, w.classmate.id)).toBe(0);
    expect(await visible({ userId: w.userId, tenantId: null, roles: [], permissions: [] }, w.mine.id)).toBe(0);
    expect(await visible(null, w.mine.id)).toBe(0);
    // A teacher's write into another school fails in Postgres itself.
    await expect(
      runAs(db, teacherA, [db.insert(students).values({ id: crypto.randomUUID(), name: "x", schoolId: w.schoolB, grade: 1, metadata: {} })] as const),
    ).rejects.toMatchObject({ code: "42501" });
    // The student role cannot write even its own row.
    const student = { userId: w.userId, tenantId: null, roles: ["student"], permissions: [] };
    const [updated] = await runAs(db, student, [db.update(students).set({ name: "hacked" }).where(eq(students.id, w.mine.id)).returning({ id: students.id })] as const);
    expect(updated).toEqual([]);
  });
});
