import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import type { z } from "@hono/zod-openapi";
import { eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { EVERY_MINUTE } from "../../src/platform/system";
import worker from "../../functions/worker";
import { createWorker } from "../../functions/create-worker";
import { createRouter } from "../../src/platform/router";
import { defineSystem } from "../../src/platform/system";
import { consumerRequestId } from "../../src/exam/consumers";
import type { MistakeList } from "../../src/exam/mistakes.routes";
import type { Profile } from "../../src/exam/profile.routes";
import type { Session } from "../../src/exam/sessions.routes";
import { consumedEvents, outboxEvents, outboxInsert } from "../../src/platform/outbox";
import type { AppEnv } from "../../src/platform/context";
import { pruneOutboxJob, relayAfterResponse, relayOutbox, sendEvents } from "../../src/platform/relay";
import { runAs } from "../../src/platform/db";
import { call, roundTrips, testEnv, token } from "./helpers";
import { eventually, ledgerCount, mistakes } from "./exam-events-helpers";
import { db, learner } from "./exam-helpers";

async function emit(userId: string, errorCodes: string[]): Promise<string> {
  const [row] = await db
    .insert(outboxEvents)
    .values({ id: crypto.randomUUID(), system: "exam", eventType: "STEP_SUBMITTED", actorId: userId, entityId: crypto.randomUUID(), payload: { stepNo: 1, attemptNo: 1, result: "FAIL", score: 0, errorCodes, runtimeMs: 10, mode: "PRACTICE" } })
    .returning({ id: outboxEvents.id });
  return row!.id;
}

const outboxRow = async (id: string) => (await db.select().from(outboxEvents).where(eq(outboxEvents.id, id)))[0]!;
/**
 * Waits until the queue delivered the STEP_SUBMITTED event `n` times and its first delivery
 * committed in all three consumers. Each delivery is one round trip per consumer, and a message's
 * consumers run in turn, so the analytics sink's n-th round trip means the others finished theirs.
 */
const deliveredTimes = (id: string, n: number) =>
  eventually(async () => {
    const trips = (await roundTrips(consumerRequestId("exam.analytics-sink", id))).neon;
    return trips >= n && (await ledgerCount(id)) === 3 ? true : undefined;
  });

describe("outbox → relay → queue → consumers, inside workerd", () => {
  it("relays an outbox row through the EVENTS queue to the consumers in two round trips; an empty run costs one", async () => {
    const user = crypto.randomUUID();
    const eventId = await emit(user, ["E_FLOW"]);
    const requestId = `relay-test-${crypto.randomUUID()}`;
    const report = await relayOutbox(testEnv, { requestId });
    expect(report.published).toBeGreaterThanOrEqual(1);
    expect((await roundTrips(requestId)).neon).toBe(2);

    const row = await outboxRow(eventId);
    expect(row.publishedAt).toBeInstanceOf(Date);
    expect(row.attempts).toBe(1);

    await deliveredTimes(eventId, 1);
    expect((await mistakes(user)).map((r) => [r.error_code, r.occurrences])).toEqual([["E_FLOW", 1]]);
    expect(await ledgerCount(eventId)).toBe(3);

    // Other files' requests may have left events meanwhile (full-suite runs): an empty run costs one.
    const idle = `relay-test-${crypto.randomUUID()}`;
    const second = await relayOutbox(testEnv, { requestId: idle });
    expect((await roundTrips(idle)).neon).toBe(second.claimed ? 2 : 1);
    expect((await outboxRow(eventId)).attempts).toBe(1);
  });

  it("sends again what a relay that crashed after sending left claimed, and the consumers apply it once", async () => {
    const user = crypto.randomUUID();
    const eventId = await emit(user, ["E_CRASH"]);
    // The crashed run, on this row only: claimed (as claimOutbox does) and sent, never marked.
    const [claimed] = await db
      .update(outboxEvents)
      .set({ claimedUntil: sql`now() + interval '60 seconds'`, attempts: sql`${outboxEvents.attempts} + 1` })
      .where(eq(outboxEvents.id, eventId))
      .returning();
    expect((await sendEvents((env as unknown as { EVENTS: Queue }).EVENTS, [claimed!])).sent).toEqual([eventId]);
    await deliveredTimes(eventId, 1);

    // While the claim holds, other runs leave the row alone.
    await relayOutbox(testEnv);
    expect(await outboxRow(eventId)).toMatchObject({ attempts: 1, publishedAt: null });
    // The lease ends: the next run sends the row again.
    await db.update(outboxEvents).set({ claimedUntil: sql`now() - interval '1 second'` }).where(eq(outboxEvents.id, eventId));
    await relayOutbox(testEnv);
    expect(await outboxRow(eventId)).toMatchObject({ attempts: 2, publishedAt: expect.any(Date) });

    await deliveredTimes(eventId, 2);
    expect((await mistakes(user)).map((r) => [r.error_code, r.occurrences])).toEqual([["E_CRASH", 1]]);
    expect(await ledgerCount(eventId)).toBe(3);
    // Two deliveries, one round trip each, one effect.
    expect((await roundTrips(consumerRequestId("exam.mistake-aggregator", eventId))).neon).toBe(2);
  });

  it("relays after a response when a route asks, on the request's own relay id: the caller's events of the route's system", async () => {
    const user = crypto.randomUUID();
    const eventId = await emit(user, ["E_HOOK"]);
    // The same caller's event of a system this route is not: another Worker's queue must carry it.
    const [foreign] = await db
      .insert(outboxEvents)
      .values({ id: crypto.randomUUID(), system: `probe-${crypto.randomUUID()}`, eventType: "PROBED", actorId: user, entityId: null, payload: {} })
      .returning({ id: outboxEvents.id });
    const requestId = `hook-test-${crypto.randomUUID()}`;
    const app = new Hono<AppEnv>().get("/", (c) => {
      c.set("requestId", requestId);
      c.set("system", "exam");
      c.set("principal", { userId: user, tenantId: null, roles: [], permissions: [] });
      relayAfterResponse(c);
      return c.text("ok");
    });
    const ctx = createExecutionContext();
    expect((await app.fetch(new Request("https://api.test/"), testEnv, ctx)).status).toBe(200);
    await waitOnExecutionContext(ctx);
    expect((await outboxRow(eventId)).publishedAt).toBeInstanceOf(Date);
    expect(await outboxRow(foreign!.id)).toMatchObject({ attempts: 0, publishedAt: null });
    expect((await roundTrips(`${requestId}:relay`)).neon).toBe(2);
    expect((await roundTrips(requestId)).neon).toBe(0);
    await deliveredTimes(eventId, 1);
    expect((await mistakes(user)).map((r) => r.error_code)).toEqual(["E_HOOK"]);
  });

  it("relays from the every-minute cron", async () => {
    const user = crypto.randomUUID();
    const eventId = await emit(user, ["E_CRON"]);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: EVERY_MINUTE, scheduledTime: Date.now() }), testEnv as never, ctx);
    await waitOnExecutionContext(ctx);
    expect((await outboxRow(eventId)).publishedAt).toBeInstanceOf(Date);
    await deliveredTimes(eventId, 1);
    expect((await mistakes(user)).map((r) => r.error_code)).toEqual(["E_CRON"]);
  });

  it("relays from a Worker's cron only the events of the systems it serves", async () => {
    // Systems of the test's own, which no other Worker of the suite serves, so no other cron claims their rows.
    const [mine, other] = [`probe-${crypto.randomUUID()}`, `probe-${crypto.randomUUID()}`];
    const row = (system: string) => ({ id: crypto.randomUUID(), system, eventType: "PROBED", actorId: null, entityId: null, payload: {} });
    const [ownEvent, otherEvent] = [row(mine), row(other)];
    await db.insert(outboxEvents).values([ownEvent, otherEvent]);
    const alone = createWorker([defineSystem({ name: mine, title: "Test probe", docs: [], load: async () => ({ router: createRouter() }) })]);
    const ctx = createExecutionContext();
    await alone.scheduled(createScheduledController({ cron: EVERY_MINUTE, scheduledTime: Date.now() }), testEnv as never, ctx);
    await waitOnExecutionContext(ctx);
    expect(await outboxRow(ownEvent.id)).toMatchObject({ attempts: 1, publishedAt: expect.any(Date) });
    expect(await outboxRow(otherEvent.id)).toMatchObject({ attempts: 0, publishedAt: null, claimedUntil: null });
  });

  it("writes the outbox row in the same batch as a change, so a failed batch emits nothing", async () => {
    const user = crypto.randomUUID();
    const id = crypto.randomUUID();
    const failing = db.batch([
      outboxInsert(db, { system: "exam", eventType: "STEP_SUBMITTED", actorId: user, entityId: id, payload: { errorCodes: ["E_ROLLED_BACK"] } }),
      db.execute(sql`select 1 / 0`),
    ]);
    await expect(failing).rejects.toThrow();
    const { rows } = await db.execute(sql`select 1 from app.outbox_events where entity_id = ${id}`);
    expect(rows).toHaveLength(0);
  });

  it("forgets published events after 7 days and ledger rows after 30, in one round trip (DAILY)", async () => {
    const [old, recent, pending] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const row = (id: string) => ({ id, system: "exam", eventType: "CELL_EXECUTED", actorId: null, entityId: null, payload: {} });
    await db.batch([
      db.insert(outboxEvents).values([
        { ...row(old), publishedAt: sql`now() - interval '8 days'` },
        { ...row(recent), publishedAt: sql`now() - interval '6 days'` },
        // Never published: kept whatever its age (and not relayed here: too many attempts).
        { ...row(pending), occurredAt: sql`now() - interval '60 days'`, attempts: 20 },
      ]),
      db.insert(consumedEvents).values([
        { consumer: "test", eventId: old, consumedAt: sql`now() - interval '31 days'` },
        { consumer: "test", eventId: recent, consumedAt: sql`now() - interval '29 days'` },
      ]),
    ]);
    const report = await pruneOutboxJob(testEnv);
    expect(report.outboxDeleted).toBeGreaterThanOrEqual(1);
    expect((await roundTrips(report.requestId as string)).neon).toBe(1);
    const left = await db.select({ id: outboxEvents.id }).from(outboxEvents).where(sql`${outboxEvents.id} in (${old}, ${recent}, ${pending})`);
    expect(left.map((r) => r.id).sort()).toEqual([recent, pending].sort());
    expect(await ledgerCount(old)).toBe(0);
    expect(await ledgerCount(recent)).toBe(1);
  });

  it("carries a learner's lab session end to end: requests → outbox → queue → mistakes, readiness and metrics", async () => {
    const user = crypto.randomUUID();
    const bearer = await token({ sub: user });
    const profile = await call<z.infer<typeof Profile>>("PUT", "/api/v1/exam/profile", { token: bearer, body: { level: "ASSOCIATE", examDate: "2027-06-01", targetType: "PRACTICAL" } });
    const plan = crypto.randomUUID();
    await runAs(db, learner(user), [
      db.execute(sql`insert into exam.plans (id, user_id, exam_profile_id, start_date, exam_date) values (${plan}, ${user}, ${profile.body.id}, current_date + 1, '2027-06-01')`),
    ] as const);

    const session = await call<z.infer<typeof Session>>("POST", "/api/v1/exam/sessions", {
      token: bearer,
      body: { labId: crypto.randomUUID(), policyId: crypto.randomUUID(), level: "ASSOCIATE", engineType: "JUPYTER", mode: "MOCK" },
    });
    expect(session.status).toBe(201);
    const id = session.body.id;
    expect((await call("POST", `/api/v1/exam/sessions/${id}/start`, { token: bearer })).status).toBe(200);
    for (const body of [
      { result: "FAIL", score: 30, errorCodes: ["E2E_KEY"], runtimeMs: 1500 },
      { result: "PASS", score: 90, errorCodes: ["E2E_KEY", "E2E_SHAPE"], runtimeMs: 900 },
    ]) {
      expect((await call("POST", `/api/v1/exam/sessions/${id}/steps/1/submissions`, { token: bearer, body })).status).toBe(201);
    }
    expect((await call("POST", `/api/v1/exam/sessions/${id}/submit`, { token: bearer })).status).toBe(200);
    // No cron and no explicit relay: each route flushed its own events after responding.
    const top = await eventually(async () => {
      const res = await call<z.infer<typeof MistakeList>>("GET", "/api/v1/exam/mistakes", { token: bearer });
      return res.body.items.length === 2 ? res.body.items : undefined;
    });
    expect(top.map((m) => [m.errorCode, m.occurrences])).toEqual([["E2E_KEY", 2], ["E2E_SHAPE", 1]]);

    // practice (50 + 60) / 2 = 55, mock 90, no task due yet: (0.3·55 + 0.4·90) / 0.7 = 75
    const readiness = async () => {
      const [r] = await runAs(db, learner(user), [db.execute<{ r: number }>(sql`select ready_index_snapshot as r from exam.plans where id = ${plan}`)] as const);
      return r.rows[0]!.r;
    };
    expect(await eventually(async () => ((await readiness()) === 75 ? 75 : undefined))).toBe(75);

    const admin = { ...learner(), roles: ["admin"] };
    const metrics = await eventually(async () => {
      const [r] = await runAs(db, admin, [
        db.execute<{ event_type: string; score: number | null }>(sql`select event_type, score from exam.event_metrics where entity_id = ${id} order by occurred_at`),
      ] as const);
      return r.rows.length === 4 ? r.rows : undefined;
    });
    expect(metrics.map((m) => [m.event_type, m.score])).toEqual([
      ["SESSION_STARTED", null],
      ["STEP_SUBMITTED", 30],
      ["STEP_SUBMITTED", 90],
      ["SESSION_FINAL_SUBMITTED", 90],
    ]);
  });
});
