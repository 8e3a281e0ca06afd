import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createWorker } from "../../functions/create-worker";
import { exam } from "../../src/exam";
import { consumerRequestId } from "../../src/exam/consumers";
import { runAs } from "../../src/platform/db";
import { roundTrips, testEnv } from "./helpers";
import { deliver, envelope, ledgerCount, mistakes } from "./exam-events-helpers";
import { db, learner } from "./exam-helpers";

const CONSUMERS = ["exam.ready-index", "exam.mistake-aggregator", "exam.analytics-sink"];
const submitted = (userId: string, errorCodes: string[], extra: Record<string, unknown> = {}) =>
  envelope("STEP_SUBMITTED", userId, { sessionId: crypto.randomUUID(), stepNo: 1, attemptNo: 1, result: "FAIL", score: 20, errorCodes, runtimeMs: 1200, mode: "PRACTICE", ...extra });

async function metricsRow(eventId: string) {
  const admin = { ...learner(), roles: ["admin"] };
  const [result] = await runAs(db, admin, [db.execute(sql`select * from exam.event_metrics where event_id = ${eventId}::uuid`)] as const);
  return result.rows;
}

/** A plan with tasks, sessions and submissions for the ReadyIndex formula (docs/exam-events.md). */
async function seedLearner(userId: string) {
  const profileId = crypto.randomUUID();
  const oldPlan = crypto.randomUUID();
  const plan = crypto.randomUUID();
  const practice = crypto.randomUUID();
  const mock = [crypto.randomUUID(), crypto.randomUUID()];
  await runAs(db, learner(userId), [
    db.execute(sql`insert into exam.exam_profiles (id, user_id, level, exam_date, target_type) values (${profileId}, ${userId}, 'BASIC', current_date + 30, 'PASS_FIRST')`),
    db.execute(sql`insert into exam.plans (id, user_id, exam_profile_id, start_date, exam_date, created_at)
                   values (${oldPlan}, ${userId}, ${profileId}, current_date - 20, current_date + 30, now() - interval '1 day'),
                          (${plan}, ${userId}, ${profileId}, current_date - 5, current_date + 30, now())`),
    // Due so far: 2 DONE, 1 TODO, 1 SKIPPED (completion 50); the future tasks do not count.
    db.execute(sql`insert into exam.plan_tasks (id, plan_id, task_date, task_type, status, est_minutes)
                   select gen_random_uuid(), ${plan}, d, t, s, 30 from (values
                     (current_date - 3, 'DRILL', 'DONE'), (current_date - 2, 'LAB', 'DONE'), (current_date - 1, 'REVIEW', 'TODO'),
                     (current_date, 'DRILL', 'SKIPPED'), (current_date + 1, 'LAB', 'DONE'), (current_date + 2, 'MOCK', 'TODO')) v(d, t, s)`),
    db.execute(sql`insert into exam.sessions (id, user_id, lab_id, level, engine_type, policy_id, mode, status, final_score, ended_at) values
                   (${practice}, ${userId}, gen_random_uuid(), 'BASIC', 'GUI', gen_random_uuid(), 'PRACTICE', 'RUNNING', null, null),
                   (${mock[0]}, ${userId}, gen_random_uuid(), 'BASIC', 'GUI', gen_random_uuid(), 'MOCK', 'SUBMITTED', 80, now() - interval '2 days'),
                   (${mock[1]}, ${userId}, gen_random_uuid(), 'BASIC', 'GUI', gen_random_uuid(), 'MOCK', 'SUBMITTED', 70, now() - interval '1 day')`),
    // results 100/0/50 → 50, scores 90/30/63 → 61: practice 55.5
    db.execute(sql`insert into exam.step_submissions (id, session_id, step_no, attempt_no, result, score) values
                   (gen_random_uuid(), ${practice}, 1, 1, 'PASS', 90), (gen_random_uuid(), ${practice}, 2, 1, 'FAIL', 30),
                   (gen_random_uuid(), ${practice}, 3, 1, 'PARTIAL', 63)`),
  ] as const);
  return { plan, oldPlan };
}

async function readyIndex(userId: string, planId: string): Promise<number> {
  const [result] = await runAs(db, learner(userId), [db.execute<{ r: number }>(sql`select ready_index_snapshot as r from exam.plans where id = ${planId}`)] as const);
  return result.rows[0]!.r;
}

describe("exam event consumers (the Worker's queue handler)", () => {
  it("applies an event once when the same event arrives twice in one batch, one round trip per consumer and delivery", async () => {
    const user = crypto.randomUUID();
    const event = submitted(user, ["E_NAME", "E_TYPE", "E_NAME"]);
    const result = await deliver([{ body: event }, { body: event }]);
    expect(result.explicitAcks.sort()).toEqual([...result.ids].sort());
    expect(result.retryMessages).toEqual([]);

    const rows = await mistakes(user);
    expect(rows.map((r) => [r.error_code, r.occurrences])).toEqual([["E_NAME", 1], ["E_TYPE", 1]]);
    expect(new Date(rows[0]!.last_seen_at!).toISOString()).toBe(event.occurredAt);
    expect(await ledgerCount(event.eventId)).toBe(3);
    expect(await metricsRow(event.eventId)).toHaveLength(1);
    for (const name of CONSUMERS) expect((await roundTrips(consumerRequestId(name, event.eventId))).neon).toBe(2);
  });

  it("retries only the failed message of a batch; its redelivery does not apply the consumers that had already succeeded", async () => {
    const user = crypto.randomUUID();
    const [first, failing, last] = [submitted(user, ["E_A"]), submitted(user, ["E_B"]), submitted(user, ["E_C"])];
    // Runs after the exam consumers: they have applied the event when the message fails.
    let failures = 0;
    const flaky = async (body: { eventId: string }) => {
      if (body.eventId === failing.eventId && failures++ === 0) throw new Error("transient");
    };
    const parts = await exam.load();
    const consumers = { ...parts.consumers, STEP_SUBMITTED: [...parts.consumers!.STEP_SUBMITTED!, flaky] };
    const worker = createWorker([{ ...exam, load: async () => ({ ...parts, consumers }) }]);

    const firstRun = await deliver([{ body: first }, { body: failing }, { body: last }], testEnv, worker);
    expect(firstRun.explicitAcks.sort()).toEqual([firstRun.ids[0], firstRun.ids[2]].sort());
    expect(firstRun.retryMessages.map((r) => r.msgId)).toEqual([firstRun.ids[1]]);

    const redelivery = await deliver([{ body: failing, id: firstRun.ids[1], attempts: 2 }]);
    expect(redelivery.explicitAcks).toEqual([firstRun.ids[1]]);
    expect((await mistakes(user)).map((r) => [r.error_code, r.occurrences])).toEqual([["E_A", 1], ["E_B", 1], ["E_C", 1]]);
    expect(await metricsRow(failing.eventId)).toHaveLength(1);
  });

  it("retries a message whose consumer cannot reach Postgres and applies nothing until a redelivery succeeds", async () => {
    const user = crypto.randomUUID();
    const event = submitted(user, ["E_DOWN"]);
    const down = { ...testEnv, NEON_FETCH_ENDPOINT: "http://127.0.0.1:9/sql" };
    const result = await deliver([{ body: event, attempts: 3 }], down);
    expect(result.retryMessages.map((r) => r.msgId)).toEqual([result.ids[0]]);
    expect(await mistakes(user)).toEqual([]);
    expect(await ledgerCount(event.eventId)).toBe(0);

    await deliver([{ body: event, attempts: 4 }]);
    expect((await mistakes(user)).map((r) => r.occurrences)).toEqual([1]);
  });

  it("retries a malformed exam envelope (it ends in the dead-letter queue) and acks other systems' events untouched", async () => {
    const user = crypto.randomUUID();
    const malformed = { ...submitted(user, ["E_X"]), actorId: "usr_not_a_uuid" };
    const foreign = { ...submitted(user, ["E_FOREIGN"]), system: "agent" };
    const result = await deliver([{ body: malformed }, { body: foreign }]);
    expect(result.retryMessages.map((r) => r.msgId)).toEqual([result.ids[0]]);
    expect(result.explicitAcks).toEqual([result.ids[1]]);
    expect(await ledgerCount(foreign.eventId)).toBe(0);
    expect(await mistakes(user)).toEqual([]);
  });

  it("counts a completed mistake drill once", async () => {
    const user = crypto.randomUUID();
    await deliver([{ body: submitted(user, ["E_LOOP"]) }]);
    const drill = envelope("MISTAKE_DRILL_COMPLETED", user, { taskId: crypto.randomUUID(), mistakeId: crypto.randomUUID(), errorCode: "E_LOOP" });
    const onlyDrill = envelope("MISTAKE_DRILL_COMPLETED", user, { taskId: crypto.randomUUID(), mistakeId: crypto.randomUUID(), errorCode: "E_NEVER_SEEN" });
    await deliver([{ body: drill }, { body: drill }, { body: onlyDrill }]);
    await deliver([{ body: drill, attempts: 2 }]);
    const rows = await mistakes(user);
    expect(rows.map((r) => [r.error_code, r.occurrences, r.drills_completed])).toEqual([["E_LOOP", 1, 1], ["E_NEVER_SEEN", 0, 1]]);
    expect(new Date(rows[0]!.last_drilled_at!).toISOString()).toBe(drill.occurredAt);
  });

  it("recomputes the readiness index of the learner's latest plan: 0.3 practice + 0.4 mock + 0.3 completion", async () => {
    const user = crypto.randomUUID();
    const { plan, oldPlan } = await seedLearner(user);
    const event = envelope("SESSION_FINAL_SUBMITTED", user, { sessionId: crypto.randomUUID(), finalScore: 70, mode: "MOCK", level: "BASIC" });
    await deliver([{ body: event }]);
    // practice 55.5, mock 75, completion 50: 16.65 + 30 + 15 = 61.65
    expect(await readyIndex(user, plan)).toBe(62);
    expect(await readyIndex(user, oldPlan)).toBe(0);
    expect((await roundTrips(consumerRequestId("exam.ready-index", event.eventId))).neon).toBe(1);
  });

  it("weights only the parts that exist and leaves a learner without a plan alone", async () => {
    const user = crypto.randomUUID();
    const profileId = crypto.randomUUID();
    const plan = crypto.randomUUID();
    const session = crypto.randomUUID();
    await runAs(db, learner(user), [
      db.execute(sql`insert into exam.exam_profiles (id, user_id, level, exam_date, target_type) values (${profileId}, ${user}, 'JUNIOR', current_date + 9, 'HIGH_SCORE')`),
      db.execute(sql`insert into exam.plans (id, user_id, exam_profile_id, start_date, exam_date) values (${plan}, ${user}, ${profileId}, current_date + 1, current_date + 9)`),
      db.execute(sql`insert into exam.sessions (id, user_id, lab_id, level, engine_type, policy_id, mode, status) values (${session}, ${user}, gen_random_uuid(), 'JUNIOR', 'BLOCK', gen_random_uuid(), 'PRACTICE', 'RUNNING')`),
      db.execute(sql`insert into exam.step_submissions (id, session_id, step_no, attempt_no, result, score) values (gen_random_uuid(), ${session}, 1, 1, 'PASS', 140)`),
    ] as const);
    await deliver([{ body: submitted(user, []) }]);
    expect(await readyIndex(user, plan)).toBe(100);

    const planless = submitted(crypto.randomUUID(), ["E_ONLY"]);
    const result = await deliver([{ body: planless }]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await ledgerCount(planless.eventId)).toBe(3);
  });

  it("writes to the Analytics Engine dataset when one is bound, once per event", async () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const env = { ...testEnv, ANALYTICS: { writeDataPoint: (p: AnalyticsEngineDataPoint) => points.push(p) } };
    const user = crypto.randomUUID();
    const event = envelope("CELL_EXECUTED", user, { sessionId: crypto.randomUUID(), runtimeMs: 640, mode: "MOCK" });
    await deliver([{ body: event }, { body: event }], env);
    await deliver([{ body: event, attempts: 2 }], env);
    expect(points).toEqual([{ indexes: ["CELL_EXECUTED"], blobs: ["CELL_EXECUTED", user, "MOCK", null, null], doubles: [Number.NaN, 640, Number.NaN] }]);
    expect(await metricsRow(event.eventId)).toHaveLength(0);
    expect(await ledgerCount(event.eventId)).toBe(1);
  });
});
