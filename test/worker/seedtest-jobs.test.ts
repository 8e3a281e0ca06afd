import type { z } from "@hono/zod-openapi";
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DAILY } from "../../src/platform/system";
import worker from "../../functions/worker";
import { loadConfig } from "../../src/platform/config";
import { createDatabase, runAs } from "../../src/platform/db";
import { FeaturesPage } from "../../src/seedtest/features.routes";
import { fillTopicFeatures, SERVICE_PRINCIPAL } from "../../src/seedtest/jobs";
import { call, testEnv, token } from "./helpers";
import { BASE } from "./seedtest-helpers";

const DAY_MS = 86_400_000;
const db = createDatabase(loadConfig(testEnv), "seedtest-jobs-test");

/** UTC day `offset` days from today, and a time on it. */
const day = (offset: number) => new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS + offset * DAY_MS).toISOString().slice(0, 10);
const at = (offset: number, time: string) => `${day(offset)} ${time}`;

interface HubEvent {
  occurredAt: string;
  content: Record<string, unknown>;
}

/** Seeds the hub as its own jobs would (the service identity), making the months' partitions first. */
async function seedStudent(userId: string | null, events: HubEvent[]): Promise<string> {
  const id = crypto.randomUUID();
  await runAs(db, SERVICE_PRINCIPAL, [
    db.execute(sql`insert into hub.students (id, name, school_id, grade, user_id) values (${id}, 'Learner', 'seedtest-school', 7, ${userId}::uuid)`),
  ] as const);
  await addEvents(id, events);
  return id;
}

async function addEvents(studentId: string, events: HubEvent[]) {
  const months = `{${events.map((e) => e.occurredAt.slice(0, 10)).join(",")}}`;
  await runAs(db, SERVICE_PRINCIPAL, [
    db.execute(sql`select hub.ensure_learning_history_partitions(${months}::date[])`),
    ...events.map((e) =>
      db.execute(sql`insert into hub.learning_history (occurred_at, student_id, event_type, source_node, content, event_id)
                     values (${e.occurredAt}::timestamp, ${studentId}, 'study', 4, ${JSON.stringify(e.content)}::jsonb, gen_random_uuid())`),
    ),
  ]);
}

/** Fires the Worker's DAILY cron and returns the report the features job logged. */
async function runDaily(): Promise<Record<string, unknown>> {
  const logged = vi.spyOn(console, "log").mockImplementation(() => {});
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: DAILY, scheduledTime: Date.now() }), testEnv as never, ctx);
  await waitOnExecutionContext(ctx);
  const lines = logged.mock.calls.map((args) => JSON.parse(String(args[0])));
  logged.mockRestore();
  const report = lines.find((l) => l.job === "fillTopicFeatures");
  expect(report, JSON.stringify(lines)).toMatchObject({ msg: "scheduled job done" });
  return report;
}

const features = async (bearer: string, query: string) =>
  (await call<z.infer<typeof FeaturesPage>>("GET", `${BASE}/features?${query}&limit=100`, { token: bearer })).body.items;
const summary = (rows: Awaited<ReturnType<typeof features>>) => rows.map((r) => ({ topic: r.topicId, date: r.date, ...r.features }));
const SOURCE = { source: "hub.learning_history" };

describe("seedtest daily features job", () => {
  afterEach(() => vi.restoreAllMocks());

  it("fills features from hub history, re-runs to the same rows and picks up late events", async () => {
    const sub = crypto.randomUUID();
    const learner = await token({ sub });
    const admin = await token({ roles: ["admin"] });
    const studentId = await seedStudent(sub, [
      { occurredAt: at(-1, "10:00:00"), content: { concept: "algebra", result: "correct", time_spent: 60 } },
      { occurredAt: at(-1, "11:00:00"), content: { concept: "algebra", result: "incorrect", time_spent: 90 } },
      { occurredAt: at(-1, "12:00:00"), content: { concept: "algebra", action: "read_notes", time_spent: 30 } },
      { occurredAt: at(-2, "09:00:00"), content: { topic_id: "geometry", concept: "angles", result: "correct", time_spent: "long" } },
      { occurredAt: at(-1, "13:00:00"), content: { action: "login" } },
      { occurredAt: at(-30, "09:00:00"), content: { concept: "algebra", result: "correct", time_spent: 10 } },
    ]);
    // A student without an account yet: their features are keyed by the student id.
    const accountless = await seedStudent(null, [{ occurredAt: at(0, "01:00:00"), content: { concept: "fractions", result: "correct" } }]);
    // A row written through the API is not the job's and survives it.
    expect((await call("PUT", `${BASE}/features/${sub}/manual/${day(-1)}`, { token: admin, body: { features: { note: "by hand" } } })).status).toBe(201);

    const first = await runDaily();
    expect(first).toMatchObject({ from: day(-7), until: day(1) });
    expect(first.inserted).toBeGreaterThanOrEqual(3);
    const expected = [
      { topic: "manual", date: day(-1), note: "by hand" },
      { topic: "algebra", date: day(-1), accuracy: 0.5, attempts: 2, correct: 1, time_spent: 180, events: 3, ...SOURCE },
      { topic: "geometry", date: day(-2), accuracy: 1, attempts: 1, correct: 1, time_spent: 0, events: 1, ...SOURCE },
    ];
    const afterFirst = await features(learner, `from=${day(-40)}`);
    expect(summary(afterFirst)).toEqual(expected);
    expect(summary(await features(admin, `userId=${accountless}`))).toEqual([
      { topic: "fractions", date: day(0), accuracy: 1, attempts: 1, correct: 1, time_spent: 0, events: 1, ...SOURCE },
    ]);

    // Re-run: recomputed from the source, nothing changes (not even updatedAt).
    const second = await runDaily();
    expect(second).toMatchObject({ inserted: 0, updated: 0, removed: 0 });
    expect(await features(learner, `from=${day(-40)}`)).toEqual(afterFirst);

    // Late events (occurred days ago, arrive now) are counted by the next run.
    await addEvents(studentId, [
      { occurredAt: at(-1, "09:30:00"), content: { concept: "algebra", result: "correct", time_spent: 20 } },
      { occurredAt: at(-3, "15:00:00"), content: { concept: "algebra", result: "incorrect", time_spent: 45 } },
    ]);
    const third = await runDaily();
    expect(third).toMatchObject({ inserted: 1, updated: 1, removed: 0 });
    expect(summary(await features(learner, `from=${day(-40)}`))).toEqual([
      expected[0],
      { topic: "algebra", date: day(-1), accuracy: 0.6667, attempts: 3, correct: 2, time_spent: 200, events: 4, ...SOURCE },
      expected[2],
      { topic: "algebra", date: day(-3), accuracy: 0, attempts: 1, correct: 0, time_spent: 45, events: 1, ...SOURCE },
    ]);

    // Source rows that disappear (the student is deleted, cascading its history) take their features along.
    await runAs(db, SERVICE_PRINCIPAL, [db.execute(sql`delete from hub.students where id = ${accountless}`)] as const);
    expect(await runDaily()).toMatchObject({ inserted: 0, updated: 0, removed: 1 });
    expect(await features(admin, `userId=${accountless}`)).toEqual([]);
  });

  it("gives the same rows when two runs overlap", async () => {
    const sub = crypto.randomUUID();
    await seedStudent(sub, [
      { occurredAt: at(-1, "08:00:00"), content: { concept: "ratios", result: "correct", time_spent: 15 } },
      { occurredAt: at(-1, "08:05:00"), content: { concept: "ratios", result: "partial", time_spent: 15 } },
    ]);
    const now = Date.now();
    await Promise.all([fillTopicFeatures(testEnv, now), fillTopicFeatures(testEnv, now)]);
    expect(summary(await features(await token({ sub }), "topicId=ratios"))).toEqual([
      { topic: "ratios", date: day(-1), accuracy: 0.5, attempts: 2, correct: 1, time_spent: 30, events: 2, ...SOURCE },
    ]);
  });
});
