import type { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { Session, SessionPage } from "../../src/seedtest/sessions.routes";
import { call, expectProblem, roundTrips, token, type CallResult } from "./helpers";
import { BASE, classroomIn, expectCursorRefused, oneTrip, org } from "./seedtest-helpers";

type LearningSession = z.infer<typeof Session>;

const ids = (res: CallResult<z.infer<typeof SessionPage>>) => res.body.items.map((s) => s.sessionId);

describe("seedtest learning sessions", () => {
  it("start in a visible classroom, end once, and never end before they start", async () => {
    const orgId = org();
    const { classroomId } = await classroomIn(orgId);
    const sub = crypto.randomUUID();
    const learner = await token({ sub, tenant_id: String(orgId) });

    const started = await call<LearningSession>("POST", `${BASE}/sessions`, {
      token: learner,
      body: { classroomId, sessionType: "practice", startedAt: "2026-11-20T09:00:00.000Z", metadata: { device: "tablet" } },
    });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ userId: sub, classroomId, sessionType: "practice", startedAt: "2026-11-20T09:00:00.000Z", endedAt: null, metadata: { device: "tablet" } });
    await oneTrip(started);
    const path = `${BASE}/sessions/${started.body.sessionId}`;

    const early = await call("POST", `${path}/end`, { token: learner, body: { endedAt: "2026-11-20T08:59:59.999Z" } });
    expectProblem(early, 422, "validation_failed");
    expect(early.body.errors[0].path).toBe("json.endedAt");
    await oneTrip(early);

    const ended = await call<LearningSession>("POST", `${path}/end`, { token: learner, body: { endedAt: "2026-11-20T09:45:00+00:00" } });
    expect(ended.status).toBe(200);
    expect(ended.body).toMatchObject({ sessionId: started.body.sessionId, endedAt: "2026-11-20T09:45:00.000Z" });
    await oneTrip(ended);

    const again = await call("POST", `${path}/end`, { token: learner, body: {} });
    expectProblem(again, 409, "session_already_ended");
    expect(again.body.endedAt).toBe("2026-11-20T09:45:00.000Z");
    await oneTrip(again);

    const got = await call<LearningSession>("GET", path, { token: learner });
    expect(got.body).toEqual(ended.body);
    await oneTrip(got);

    // Without a body the session ends now; a zero-length session is allowed (ended_at = started_at).
    const open = (await call<LearningSession>("POST", `${BASE}/sessions`, { token: learner, body: {} })).body;
    expect(open).toMatchObject({ classroomId: null, sessionType: null, metadata: null, endedAt: null });
    const now = await call<LearningSession>("POST", `${BASE}/sessions/${open.sessionId}/end`, { token: learner });
    expect(now.status).toBe(200);
    expect(Date.parse(now.body.endedAt!)).toBeGreaterThanOrEqual(Date.parse(open.startedAt));
    const instant = (await call<LearningSession>("POST", `${BASE}/sessions`, { token: learner, body: { startedAt: "2026-11-19T10:00:00Z" } })).body;
    expect((await call("POST", `${BASE}/sessions/${instant.sessionId}/end`, { token: learner, body: { endedAt: "2026-11-19T10:00:00Z" } })).status).toBe(200);
  });

  it("refuse a classroom that does not exist or is not the caller's to see, writing nothing", async () => {
    const { classroomId } = await classroomIn(org());
    const sub = crypto.randomUUID();
    const learner = await token({ sub, tenant_id: String(org()) });
    for (const target of [crypto.randomUUID(), classroomId]) {
      const res = await call("POST", `${BASE}/sessions`, { token: learner, body: { classroomId: target } });
      expectProblem(res, 422, "validation_failed");
      expect(res.body.errors[0].path).toBe("json.classroomId");
      await oneTrip(res);
    }
    expect((await call("GET", `${BASE}/sessions`, { token: learner })).body.items).toEqual([]);
    const bad = await call("POST", `${BASE}/sessions`, { token: learner, body: { startedAt: "yesterday", sessionType: "", extra: true } });
    expectProblem(bad, 422, "validation_failed");
    expect((await roundTrips(bad.requestId)).neon).toBe(0);
  });

  it("are listed by user, classroom and time range, newest first, a page at a time", async () => {
    const orgId = org();
    const { teacher, classroomId } = await classroomIn(orgId);
    const subA = crypto.randomUUID();
    const learnerA = await token({ sub: subA, tenant_id: String(orgId) });
    const learnerB = await token({ tenant_id: String(orgId) });
    const start = async (who: string, at: string, room: string | null = classroomId) =>
      (await call<LearningSession>("POST", `${BASE}/sessions`, { token: who, body: { classroomId: room, startedAt: at } })).body.sessionId;
    const a1 = await start(learnerA, "2026-11-01T08:00:00Z");
    const a2 = await start(learnerA, "2026-11-02T08:00:00Z");
    const a3 = await start(learnerA, "2026-11-03T08:00:00Z", null);
    const a4 = await start(learnerA, "2026-11-04T08:00:00Z");
    const b1 = await start(learnerB, "2026-11-02T09:00:00Z");

    const own = await call<z.infer<typeof SessionPage>>("GET", `${BASE}/sessions?limit=3`, { token: learnerA });
    expect(ids(own)).toEqual([a4, a3, a2]);
    await oneTrip(own);
    const rest = await call<z.infer<typeof SessionPage>>("GET", `${BASE}/sessions?limit=3&cursor=${own.body.nextCursor}`, { token: learnerA });
    expect(ids(rest)).toEqual([a1]);
    expect(rest.body.nextCursor).toBeNull();
    await oneTrip(rest);
    await expectCursorRefused(`${BASE}/sessions?limit=3`, learnerA, own.body.nextCursor!, 0, "yesterday");

    const ranged = await call("GET", `${BASE}/sessions?userId=${subA}&from=2026-11-02T00:00:00Z&to=2026-11-04T00:00:00Z`, { token: learnerA });
    expect(ids(ranged)).toEqual([a3, a2]);
    expectProblem(await call("GET", `${BASE}/sessions?from=2026-11-04T00:00:00Z&to=2026-11-02T00:00:00Z`, { token: learnerA }), 422, "validation_failed");

    // A learner sees only their own sessions, even when asking for a classroom or another user.
    expect(ids(await call("GET", `${BASE}/sessions?classroomId=${classroomId}`, { token: learnerB }))).toEqual([b1]);
    expect(ids(await call("GET", `${BASE}/sessions?userId=${subA}`, { token: learnerB }))).toEqual([]);
    expectProblem(await call("GET", `${BASE}/sessions/${a1}`, { token: learnerB }), 404, "not_found");
    expectProblem(await call("POST", `${BASE}/sessions/${a1}/end`, { token: learnerB }), 404, "not_found");

    // The classroom's teacher sees every session held in it, but ends none of them.
    const byRoom = await call("GET", `${BASE}/sessions?classroomId=${classroomId}`, { token: teacher });
    expect(ids(byRoom)).toEqual([a4, b1, a2, a1]);
    await oneTrip(byRoom);
    expect(ids(await call("GET", `${BASE}/sessions?userId=${subA}`, { token: teacher }))).toEqual([a4, a2, a1]);
    const teacherEnd = await call("POST", `${BASE}/sessions/${a1}/end`, { token: teacher });
    expectProblem(teacherEnd, 403, "forbidden");
    await oneTrip(teacherEnd);

    // Another org's teacher sees none; an admin sees all.
    const stranger = await token({ roles: ["teacher"], tenant_id: String(org()) });
    expect(ids(await call("GET", `${BASE}/sessions?classroomId=${classroomId}`, { token: stranger }))).toEqual([]);
    const admin = await token({ roles: ["admin"] });
    expect(ids(await call("GET", `${BASE}/sessions?classroomId=${classroomId}`, { token: admin }))).toHaveLength(4);
  });

  it("refuse the reserved service role in tokens", async () => {
    const service = await token({ roles: ["service"] });
    expectProblem(await call("GET", `${BASE}/sessions`, { token: service }), 403, "service_role_reserved");
  });
});
