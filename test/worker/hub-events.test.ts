import type { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import type { LearningEventPage } from "../../src/hub/events.routes";
import type { Problem } from "../../src/platform/problem";
import { call, expectProblem, roundTrips, type CallResult } from "./helpers";
import { admin, adminSql, createStudent, event, ingest, planOf, school, sql, teacher } from "./hub-helpers";

const hub = "/api/v1/hub";

async function setup() {
  const schoolId = school();
  const bearer = await teacher(schoolId);
  const student = await createStudent(bearer, { schoolId });
  return { bearer, student };
}

type Page = z.infer<typeof LearningEventPage>;
const history = (bearer: string, studentId: string, query = "") => call<Page>("GET", `${hub}/students/${studentId}/events${query}`, { token: bearer });

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

describe("hub learning history", () => {
  it("ingests a batch in one round trip, and a retried batch adds nothing", async () => {
    const { bearer, student } = await setup();
    const events = Array.from({ length: 1000 }, (_, i) => event({ occurredAt: minutesAgo(i), content: { concept: `c${i % 7}`, result: i % 3 ? "correct" : "incorrect" } }));
    const first = await ingest(bearer, student.id, events);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ received: 1000, inserted: 1000, duplicates: 0 });
    expect((await roundTrips(first.requestId)).neon).toBe(1);

    const retry = await ingest(bearer, student.id, events);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ received: 1000, inserted: 0, duplicates: 1000 });
    expect((await roundTrips(retry.requestId)).neon).toBe(1);

    const partly = await ingest(bearer, student.id, [...events.slice(0, 10), event()]);
    expect(partly.body).toMatchObject({ inserted: 1, duplicates: 10 });
    const counted = await adminSql<{ n: string }>(sql`select count(*) as n from hub.learning_history where student_id = ${student.id}`);
    expect(Number(counted[0]!.n)).toBe(1001);
  });

  it("rejects a batch with bad events as a whole, naming each bad index", async () => {
    const { bearer, student } = await setup();
    const { content: _, ...noContent } = event();
    const events = [event(), event({ eventType: "party" }), event(), event({ sourceNode: 7 }), noContent, event({ occurredAt: "yesterday" })];
    const res = await ingest<Problem>(bearer, student.id, events);
    expectProblem(res, 422, "invalid_events");
    expect(res.body.invalidEvents).toEqual([1, 3, 4, 5]);
    expect(res.body.errors!.map((e) => e.path)).toEqual(
      expect.arrayContaining(["json.events.1.eventType", "json.events.3.sourceNode", "json.events.4.content", "json.events.5.occurredAt"]),
    );
    expect((await roundTrips(res.requestId)).neon).toBe(0);
    const page = await history(bearer, student.id);
    expect(page.body.items).toEqual([]);

    expectProblem(await ingest(bearer, student.id, []), 422, "invalid_events");
    expectProblem(await ingest(bearer, student.id, Array.from({ length: 1001 }, () => event())), 422, "invalid_events");
    expectProblem(await ingest(bearer, student.id, [event({ occurredAt: new Date(Date.now() + 3 * 86_400_000).toISOString() })]), 422, "invalid_events");
    expectProblem(await ingest(bearer, crypto.randomUUID(), [event()]), 404, "not_found");
  });

  it("creates a missing month's partition in the ingest batch itself", async () => {
    const { bearer, student } = await setup();
    // 14 and 15 months back: no job makes partitions for past months, so these exist only on demand.
    const now = new Date();
    const months = [14, 15].map((k) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - k, 10, 12)));
    const names = months.map((d) => `learning_history_${d.toISOString().slice(0, 7).replace("-", "_")}`);
    const res = await ingest(bearer, student.id, months.map((d) => event({ occurredAt: d.toISOString() })));
    expect(res.status).toBe(201);
    expect((await roundTrips(res.requestId)).neon).toBe(1);
    // Another test file may have made them first; either way they exist now, attached to the parent.
    const attached = await adminSql<{ relname: string }>(sql`
      select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'hub.learning_history'::regclass and c.relname in (${names[0]}, ${names[1]})`);
    expect(attached.map((r) => r.relname).sort()).toEqual([...names].sort());
    expect(res.body.partitionsCreated.every((p) => names.includes(p))).toBe(true);
    // The API role reaches partitions only through the parent (and its RLS).
    const grants = await adminSql<{ n: string }>(sql`select count(*) as n from information_schema.role_table_grants where grantee = 'app_api' and table_name = ${names[0]}`);
    expect(Number(grants[0]!.n)).toBe(0);

    const again = await ingest(bearer, student.id, months.map((d) => event({ occurredAt: new Date(d.getTime() + 1000).toISOString() })));
    expect(again.body.partitionsCreated).toEqual([]);
  });

  it("creates missing partitions from concurrent batches without deadlocking", async () => {
    const { bearer, student } = await setup();
    const now = new Date();
    // 17–19 months back: months no other test touches; each batch needs them in its own order.
    const months = [17, 18, 19].map((k) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - k, 5)));
    const orders = [months, [...months].reverse(), [months[1]!, months[0]!, months[2]!]];
    const results = await Promise.all(orders.map((order) => ingest(bearer, student.id, order.map((d) => event({ occurredAt: d.toISOString() })))));
    expect(results.map((r) => r.status)).toEqual([201, 201, 201]);
    const created = results.flatMap((r) => r.body.partitionsCreated);
    expect(new Set(created).size).toBe(created.length);
    const page = await history(bearer, student.id, "?limit=100");
    expect(page.body.items).toHaveLength(9);
  });

  it("is queried newest first by time range, event type and content containment, with keyset pages", async () => {
    const { bearer, student } = await setup();
    const events = [
      event({ eventType: "study", occurredAt: minutesAgo(50), content: { concept: "a", result: "correct" } }),
      event({ eventType: "test", occurredAt: minutesAgo(40), content: { concept: "b", result: "incorrect" } }),
      event({ eventType: "study", occurredAt: minutesAgo(30), content: { concept: "a", result: "incorrect", tags: ["x", "y"] } }),
      event({ eventType: "review", occurredAt: minutesAgo(20), content: { concept: "c", result: "correct" } }),
      event({ eventType: "study", occurredAt: minutesAgo(10), content: { concept: "a", result: "correct" } }),
    ];
    await ingest(bearer, student.id, events);
    const ids = (res: CallResult<Page>) => res.body.items.map((e) => e.eventId);
    const newestFirst = [...events].reverse().map((e) => e.eventId);

    const seen: (string | null)[] = [];
    let cursor: string | null = null;
    do {
      const page: CallResult<Page> = await history(bearer, student.id, `?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status).toBe(200);
      expect((await roundTrips(page.requestId)).neon).toBe(1);
      seen.push(...ids(page));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(newestFirst);

    const first = (await history(bearer, student.id, "?limit=1")).body.items[0]!;
    expect(first).toMatchObject({ eventId: events[4]!.eventId, studentId: student.id, eventType: "study", sourceNode: 4, content: events[4]!.content, occurredAt: events[4]!.occurredAt });
    expect(first.id).toMatch(/^\d+$/);

    const range = await history(bearer, student.id, `?from=${encodeURIComponent(minutesAgo(45))}&to=${encodeURIComponent(minutesAgo(15))}`);
    expect(ids(range)).toEqual([events[3], events[2], events[1]].map((e) => e!.eventId));
    const studies = await history(bearer, student.id, "?eventType=study&limit=2");
    expect(ids(studies)).toEqual([events[4], events[2]].map((e) => e!.eventId));
    const studies2 = await history(bearer, student.id, `?eventType=study&limit=2&cursor=${studies.body.nextCursor}`);
    expect(ids(studies2)).toEqual([events[0]!.eventId]);
    expect(studies2.body.nextCursor).toBeNull();
    const contains = await history(bearer, student.id, `?contains=${encodeURIComponent('{"concept":"a","result":"correct"}')}`);
    expect(ids(contains)).toEqual([events[4], events[0]].map((e) => e!.eventId));
    const nested = await history(bearer, student.id, `?contains=${encodeURIComponent('{"tags":["y"]}')}`);
    expect(ids(nested)).toEqual([events[2]!.eventId]);
    expect((await roundTrips(nested.requestId)).neon).toBe(1);

    expectProblem(await call("GET", `${hub}/students/${student.id}/events?eventType=party`, { token: bearer }), 422, "validation_failed");
    expectProblem(await call("GET", `${hub}/students/${crypto.randomUUID()}/events`, { token: bearer }), 404, "not_found");
  });

  it("plans the history query on idx_lh_student_occurred / idx_lh_student_event", async () => {
    const { id } = (await adminSql<{ id: string }>(sql`select id from hub.students limit 1`))[0]!;
    const byTime = await planOf(sql`select * from hub.learning_history where student_id = ${id} order by occurred_at desc limit 20`);
    expect(byTime).toMatch(/student_id_occurred_at_idx|idx_lh_student_occurred/);
    const byType = await planOf(sql`select * from hub.learning_history where student_id = ${id} and event_type = 'test' order by occurred_at desc limit 20`);
    expect(byType).toMatch(/student_id_event_type_occurred_at_idx|idx_lh_student_event/);
    const admins = await admin();
    expect((await call("GET", `${hub}/students/${id}/events?limit=1`, { token: admins })).status).toBe(200);
  });
});
