import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import type { z } from "@hono/zod-openapi";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import worker from "../../functions/worker";
import { DAILY, EVERY_MINUTE } from "../../src/platform/system";
import { abandonIdleSessions, purgePolicyEvents } from "../../src/exam/jobs";
import type { PolicyEventPage } from "../../src/exam/policy.routes";
import { auditPolicyEvents, sessions } from "../../src/exam/schema";
import { runAs } from "../../src/platform/db";
import { call, expectProblem, testEnv, type CallResult } from "./helpers";
import { caller, db, expectTrips, learner, move, newSession, runningSession, type Caller } from "./exam-helpers";

const report = (who: Caller, id: string, body: unknown, headers: Record<string, string> = {}) =>
  call("POST", `/api/v1/exam/sessions/${id}/policy-events`, { token: who.bearer, body, headers });

describe("policy events", () => {
  it("stores the server's verdict with reason, client IP and user agent", async () => {
    const me = await caller();
    const s = await runningSession(me, { mode: "PRACTICE" });
    const headers = { "CF-Connecting-IP": "203.0.113.9", "User-Agent": "LabClient/1.0" };
    const allowed = await report(me, s.id, { action: "REFERENCE_OPEN", url: "https://docs.python.org./3/" }, headers);
    expect(allowed.status).toBe(201);
    expect(allowed.body).toMatchObject({
      userId: me.sub, sessionId: s.id, action: "REFERENCE_OPEN", verdict: "ALLOW", reasonCode: "ALLOWLISTED_HOST",
      clientIp: "203.0.113.9", userAgent: "LabClient/1.0", sessionStatus: "RUNNING",
    });
    await expectTrips(allowed.requestId, 1);
    const warned = await report(me, s.id, { action: "REFERENCE_OPEN", url: "https://docs.python.org@evil.com/" }, { "CF-Connecting-IP": "not an ip" });
    expect(warned.body).toMatchObject({ verdict: "WARN", reasonCode: "CREDENTIALS_IN_URL", clientIp: null, sessionStatus: "RUNNING" });
    expect((await report(me, s.id, { action: "COPY_PASTE" })).body).toMatchObject({ verdict: "ALLOW", reasonCode: "COPY_PASTE" });
  });

  it("force-closes a MOCK session on a BLOCK, in the same transaction, and refuses further events", async () => {
    const me = await caller();
    const s = await runningSession(me, { mode: "MOCK" });
    expect((await report(me, s.id, { action: "FOCUS_LOST" })).body).toMatchObject({ verdict: "WARN", sessionStatus: "RUNNING" });
    const blocked = await report(me, s.id, { action: "REFERENCE_OPEN", url: "https://evilnumpy.org/" });
    expect(blocked.body).toMatchObject({ verdict: "BLOCK", reasonCode: "HOST_NOT_ALLOWLISTED", sessionStatus: "FORCE_CLOSED" });
    await expectTrips(blocked.requestId, 1);
    const after = await call("GET", `/api/v1/exam/sessions/${s.id}`, { token: me.bearer });
    expect(after.body).toMatchObject({ status: "FORCE_CLOSED" });
    expect(after.body.endedAt).toMatch(/Z$/);
    const late = await report(me, s.id, { action: "COPY_PASTE" });
    expectProblem(late, 409, "invalid_state");
    expect(late.body.currentStatus).toBe("FORCE_CLOSED");
  });

  it("only WARNs for the same actions in PRACTICE_PLUS, also while PAUSED", async () => {
    const me = await caller();
    const s = await runningSession(me, { mode: "PRACTICE_PLUS" });
    await move(me, s.id, "pause");
    const res = await report(me, s.id, { action: "REFERENCE_OPEN", url: "ftp://numpy.org/" });
    expect(res.body).toMatchObject({ verdict: "WARN", reasonCode: "SCHEME_NOT_ALLOWED", sessionStatus: "PAUSED" });
    expect((await report(me, s.id, { action: "COPY_PASTE" })).body.verdict).toBe("WARN");
  });

  it("is refused before the lab runs (409), on others' sessions (404) and without a URL to judge (422)", async () => {
    const me = await caller();
    const s = await newSession(me);
    const early = await report(me, s.id, { action: "FOCUS_LOST" });
    expectProblem(early, 409, "invalid_state");
    expect(early.body.currentStatus).toBe("CREATED");
    await move(me, s.id, "start");
    expectProblem(await report(await caller(), s.id, { action: "FOCUS_LOST" }), 404, "not_found");
    const noUrl = await report(me, s.id, { action: "REFERENCE_OPEN" });
    expectProblem(noUrl, 422, "validation_failed");
    expect(noUrl.body.errors[0].path).toBe("json.url");
    expectProblem(await report(me, s.id, { action: "SCREENSHOT" }), 422, "validation_failed");
  });
});

describe("policy audit trail", () => {
  it("is for proctors and admins, filters by user, session, verdict and time, and pages by keyset", async () => {
    const a = await caller();
    const b = await caller();
    const sa = await runningSession(a, { mode: "PRACTICE" });
    const sb = await runningSession(b, { mode: "PRACTICE" });
    for (let i = 0; i < 3; i++) await report(a, sa.id, { action: "FOCUS_LOST" });
    await report(a, sa.id, { action: "REFERENCE_OPEN", url: "https://evil.com/" });
    for (let i = 0; i < 2; i++) await report(b, sb.id, { action: "FOCUS_LOST" });

    const learner = await call("GET", "/api/v1/exam/audit/policy-events", { token: a.bearer });
    expectProblem(learner, 403, "forbidden");
    await expectTrips(learner.requestId, 0);
    expectProblem(await call("GET", "/api/v1/exam/audit/policy-events", { token: (await caller(["reviewer"])).bearer }), 403, "forbidden");

    const proctor = await caller(["proctor"]);
    const q = (query: string) => call("GET", `/api/v1/exam/audit/policy-events?${query}`, { token: proctor.bearer });
    const mine = await q(`userId=${a.sub}`);
    expect(mine.body.items).toHaveLength(4);
    await expectTrips(mine.requestId, 1);
    const times = mine.body.items.map((e: { createdAt: string }) => e.createdAt);
    expect([...times].sort().reverse()).toEqual(times);
    expect((await q(`sessionId=${sb.id}`)).body.items).toHaveLength(2);
    expect((await q(`userId=${a.sub}&verdict=WARN`)).body.items.map((e: { reasonCode: string }) => e.reasonCode)).toEqual(["HOST_NOT_ALLOWLISTED"]);
    expect((await q(`userId=${a.sub}&to=2000-01-01T00:00:00Z`)).body.items).toEqual([]);
    expect((await q(`userId=${a.sub}&from=${encodeURIComponent(times[1])}`)).body.items).toHaveLength(2);

    // Page through both users two at a time: every event once, ordered by user then newest first.
    const admin = await caller(["admin"]);
    const seen: { userId: string; id: string }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    let auditCursor: string | undefined;
    do {
      const res: CallResult<z.infer<typeof PolicyEventPage>> = await call(
        "GET",
        `/api/v1/exam/audit/policy-events?limit=2${cursor ? `&cursor=${cursor}` : ""}&from=${encodeURIComponent(new Date(Date.now() - 60_000).toISOString())}`,
        { token: admin.bearer },
      );
      expect(res.status).toBe(200);
      seen.push(...res.body.items.filter((e) => e.userId === a.sub || e.userId === b.sub));
      cursor = res.body.nextCursor;
      auditCursor ??= cursor ?? undefined;
      pages++;
    } while (cursor && pages < 100);
    expect(seen).toHaveLength(6);
    expect(new Set(seen.map((e) => e.id)).size).toBe(6);
    const users = seen.map((e) => e.userId);
    expect(users).toEqual([...users].sort());

    expectProblem(await q("cursor=garbage"), 422, "validation_failed");
    expectProblem(await q("verdict=MAYBE"), 422, "validation_failed");
    // A real cursor of this list keys (user, time, id): another list, keyed (time, id), refuses it.
    expect(auditCursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const foreign = await call("GET", `/api/v1/exam/sessions?cursor=${auditCursor}`, { token: admin.bearer });
    expectProblem(foreign, 422, "validation_failed");
    expect(foreign.body.errors[0].path).toBe("query.cursor");
  });
});

describe("scheduled jobs", () => {
  it("abandon RUNNING and PAUSED sessions idle longer than the timeout, and nothing else", async () => {
    const me = await caller();
    const running = await runningSession(me);
    const paused = await runningSession(me);
    await move(me, paused.id, "pause");
    const fresh = await runningSession(me);
    const created = await newSession(me);
    await runAs(db, learner(me.sub), [
      db.update(sessions).set({ updatedAt: sql`now() - interval '31 minutes'` }).where(sql`${sessions.id} in (${running.id}::uuid, ${paused.id}::uuid, ${created.id}::uuid)`),
    ] as const);
    const report1 = await abandonIdleSessions(testEnv as never);
    expect(report1.abandoned).toBeGreaterThanOrEqual(2);
    const status = async (id: string) => (await call("GET", `/api/v1/exam/sessions/${id}`, { token: me.bearer })).body;
    expect(await status(running.id)).toMatchObject({ status: "ABANDONED" });
    expect((await status(paused.id)).endedAt).toMatch(/Z$/);
    expect((await status(paused.id)).status).toBe("ABANDONED");
    expect((await status(fresh.id)).status).toBe("RUNNING");
    expect((await status(created.id)).status).toBe("CREATED");
    // A second run finds nothing more of these; an abandoned session takes no more moves.
    await abandonIdleSessions(testEnv as never);
    expectProblem(await move(me, running.id, "resume"), 409, "invalid_state");
  });

  it("delete policy events older than AUDIT_LOG_RETENTION_DAYS and keep the rest", async () => {
    const me = await caller();
    const s = await runningSession(me);
    const old = await report(me, s.id, { action: "FOCUS_LOST" });
    const recent = await report(me, s.id, { action: "FOCUS_LOST" });
    await runAs(db, learner(me.sub), [
      db.update(auditPolicyEvents).set({ createdAt: sql`now() - interval '366 days'` }).where(eq(auditPolicyEvents.id, old.body.id)),
    ] as const);
    const result = await purgePolicyEvents(testEnv as never);
    expect(result).toMatchObject({ retentionDays: 365 });
    expect(result.purged).toBeGreaterThanOrEqual(1);
    const [left] = await runAs(db, learner(me.sub), [db.select({ id: auditPolicyEvents.id }).from(auditPolicyEvents).where(eq(auditPolicyEvents.sessionId, s.id))] as const);
    expect(left.map((r) => r.id)).toEqual([recent.body.id]);
  });

  it("are registered on the two crons", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    for (const cron of [EVERY_MINUTE, DAILY]) {
      const ctx = createExecutionContext();
      await worker.scheduled(createScheduledController({ cron, scheduledTime: Date.now() }), testEnv as never, ctx);
      await waitOnExecutionContext(ctx);
    }
    const jobs = log.mock.calls.map((args) => JSON.parse(String(args[0]))).filter((l) => l.msg === "scheduled job done").map((l) => l.job);
    expect(jobs).toEqual(expect.arrayContaining(["abandonIdleSessions", "purgePolicyEvents"]));
    log.mockRestore();
  });
});
