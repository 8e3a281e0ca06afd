import type { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import type { ArchivedEventList, LearningEventPage } from "../../src/hub/events.routes";
import type { Student } from "../../src/hub/students.routes";
import type { Task } from "../../src/hub/tasks.routes";
import { anonymizeOldStudents, archiveOldPartitions, createPartitionsAhead, purgeCompletedTasks } from "../../src/hub/jobs";
import { call, expectProblem, roundTrips, testEnv } from "./helpers";
import { admin, adminSql, createStudent, event, ingest, school, sql, teacher } from "./hub-helpers";

const hub = "/api/v1/hub";
type Archived = z.infer<typeof ArchivedEventList>;
const monthName = (d: Date) => `learning_history_${d.toISOString().slice(0, 7).replace("-", "_")}`;

async function partitions(schema: string) {
  const rows = await adminSql<{ relname: string }>(sql`
    select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relkind = 'r' and c.relname like 'learning_history_%'`);
  return rows.map((r) => r.relname);
}

describe("hub partition lifecycle jobs", () => {
  it("keep this month and the next six partitioned, idempotently, even when two runs overlap", async () => {
    const now = new Date();
    const expected = Array.from({ length: 7 }, (_, i) => monthName(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1))));
    const [a, b] = await Promise.all([createPartitionsAhead(testEnv, Date.now()), createPartitionsAhead(testEnv, Date.now())]);
    expect([...a.created, ...b.created].sort()).toEqual([...new Set([...a.created, ...b.created])].sort());
    expect(await partitions("hub")).toEqual(expect.arrayContaining(expected));
    expect((await createPartitionsAhead(testEnv, Date.now())).created).toEqual([]);
  });

  it("archive partitions older than two years, readable by admins only, and merge late events for archived months", async () => {
    const schoolId = school();
    const bearer = await teacher(schoolId);
    const student = await createStudent(bearer, { schoolId });
    const now = new Date();
    const old = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 30, 15, 8));
    const recent = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 20, 15, 8));
    const oldEvent = event({ occurredAt: old.toISOString() });
    expect((await ingest(bearer, student.id, [oldEvent, event({ occurredAt: recent.toISOString() })])).status).toBe(201);
    expect(await partitions("hub")).toContain(monthName(old));

    const [a, b] = await Promise.all([archiveOldPartitions(testEnv, Date.now()), archiveOldPartitions(testEnv, Date.now())]);
    expect([...a.archived, ...b.archived]).toContain(monthName(old));
    expect([...a.archived, ...b.archived]).not.toContain(monthName(recent));
    expect(await partitions("archive")).toContain(monthName(old));
    expect(await partitions("hub")).not.toContain(monthName(old));
    expect((await archiveOldPartitions(testEnv, Date.now())).archived).toEqual([]);

    // Gone from the live history, still there for admins.
    const live = await call<z.infer<typeof LearningEventPage>>("GET", `${hub}/students/${student.id}/events`, { token: bearer });
    expect(live.body.items.map((e) => e.occurredAt)).toEqual([recent.toISOString()]);
    const root = await admin();
    const archived = await call<Archived>("GET", `${hub}/archive/students/${student.id}/events`, { token: root });
    expect(archived.status).toBe(200);
    expect((await roundTrips(archived.requestId)).neon).toBe(1);
    expect(archived.body.items).toEqual([
      expect.objectContaining({ eventId: oldEvent.eventId, occurredAt: old.toISOString(), partition: monthName(old), content: oldEvent.content }),
    ]);
    expectProblem(await call("GET", `${hub}/archive/students/${student.id}/events`, { token: bearer }), 403, "admin_only");

    // A late event for the archived month lands in a fresh live partition; the next run merges it.
    const late = event({ occurredAt: new Date(old.getTime() + 3600_000).toISOString() });
    const lateRes = await ingest(bearer, student.id, [late]);
    expect(lateRes.body.partitionsCreated).toEqual([monthName(old)]);
    expect((await archiveOldPartitions(testEnv, Date.now())).archived).toEqual([monthName(old)]);
    const merged = await call<Archived>("GET", `${hub}/archive/students/${student.id}/events`, { token: root });
    expect(merged.body.items.map((e) => e.eventId)).toEqual([late.eventId, oldEvent.eventId]);

    // Archived rows still go with their student.
    expect((await call("DELETE", `${hub}/students/${student.id}`, { token: bearer })).status).toBe(204);
    expect((await call("GET", `${hub}/archive/students/${student.id}/events`, { token: root })).body.items).toEqual([]);
  });

  it("anonymize students created more than five years ago, once", async () => {
    const schoolId = school();
    const bearer = await teacher(schoolId);
    const oldOne = await createStudent(bearer, { schoolId, email: "old@example.com", parentContact: "010-1234-5678", metadata: { interests: ["math"] } });
    const newOne = await createStudent(bearer, { schoolId, email: "new@example.com" });
    await adminSql(sql`update hub.students set created_at = now() - interval '5 years 1 day' where id = ${oldOne.id}`);

    const first = await anonymizeOldStudents(testEnv, Date.now());
    expect(first.anonymized).toBeGreaterThanOrEqual(1);
    const read = await call<z.infer<typeof Student>>("GET", `${hub}/students/${oldOne.id}`, { token: bearer });
    expect(read.body).toMatchObject({ name: `ANONYMIZED_${oldOne.id}`, email: null, parentContact: null, metadata: {}, schoolId });
    expect((await call("GET", `${hub}/students/${newOne.id}`, { token: bearer })).body.email).toBe("new@example.com");
    expect((await anonymizeOldStudents(testEnv, Date.now())).anonymized).toBe(0);
  });

  it("delete completed scheduled tasks a year after their last run", async () => {
    const schoolId = school();
    const bearer = await teacher(schoolId);
    const student = await createStudent(bearer, { schoolId });
    const make = async () =>
      (await call<z.infer<typeof Task>>("POST", `${hub}/tasks`, {
        token: bearer,
        body: { studentId: student.id, taskType: "daily_report", scheduleType: "one_time", runAt: new Date(Date.now() + 86_400_000).toISOString() },
      })).body.id;
    const [stale, fresh, active] = [await make(), await make(), await make()];
    await adminSql(sql`update hub.scheduled_tasks set status = 'completed', last_run_at = now() - interval '13 months' where id = ${stale}`);
    await adminSql(sql`update hub.scheduled_tasks set status = 'completed', last_run_at = now() - interval '6 months' where id = ${fresh}`);
    await adminSql(sql`update hub.scheduled_tasks set created_at = now() - interval '3 years' where id = ${active}`);

    expect((await purgeCompletedTasks(testEnv, Date.now())).deleted).toBeGreaterThanOrEqual(1);
    expectProblem(await call("GET", `${hub}/tasks/${stale}`, { token: bearer }), 404, "not_found");
    expect((await call("GET", `${hub}/tasks/${fresh}`, { token: bearer })).status).toBe(200);
    expect((await call("GET", `${hub}/tasks/${active}`, { token: bearer })).status).toBe(200);
    expect((await purgeCompletedTasks(testEnv, Date.now())).deleted).toBe(0);
  });
});
