import { describe, expect, it } from "vitest";
import type { z } from "@hono/zod-openapi";
import type { SessionPage } from "../../src/exam/sessions.routes";
import { call, expectProblem, type CallResult } from "./helpers";
import { caller, eventsOf, expectTrips, LAB, move, newSession, runningSession, type LabSession } from "./exam-helpers";

describe("lab sessions", () => {
  it("are created in CREATED with an engine that fits the level, and read back by their owner", async () => {
    const me = await caller();
    const created = await call<LabSession>("POST", "/api/v1/exam/sessions", {
      token: me.bearer,
      body: { labId: crypto.randomUUID(), policyId: crypto.randomUUID(), ...LAB },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...LAB, userId: me.sub, status: "CREATED", startedAt: null, endedAt: null, finalScore: null });
    await expectTrips(created.requestId, 1);

    const one = await call<LabSession>("GET", `/api/v1/exam/sessions/${created.body.id}`, { token: me.bearer });
    expect(one.body).toEqual(created.body);
    await expectTrips(one.requestId, 1);

    const list = await call<z.infer<typeof SessionPage>>("GET", "/api/v1/exam/sessions", { token: me.bearer });
    expect(list.body.items.map((s) => s.id)).toEqual([created.body.id]);
    await expectTrips(list.requestId, 1);
  });

  it.each([
    ["FUTURE", "BLOCK"],
    ["JUNIOR", "BLOCK"],
    ["BASIC", "GUI"],
    ["ASSOCIATE", "JUPYTER"],
    ["PROFESSIONAL", "JUPYTER"],
  ])("accepts %s with %s and refuses it with any other engine (422, nothing written)", async (level, engine) => {
    const me = await caller();
    await newSession(me, { level, engineType: engine });
    for (const other of ["BLOCK", "GUI", "JUPYTER"].filter((e) => e !== engine)) {
      const res = await call("POST", "/api/v1/exam/sessions", {
        token: me.bearer,
        body: { labId: crypto.randomUUID(), policyId: crypto.randomUUID(), level, engineType: other, mode: "MOCK" },
      });
      expectProblem(res, 422, "engine_level_mismatch");
      expect(res.body.errors[0].path).toBe("json.engineType");
      await expectTrips(res.requestId, 0);
    }
    expect((await call("GET", "/api/v1/exam/sessions", { token: me.bearer })).body.items).toHaveLength(1);
  });

  it("are listed newest first a page at a time, every session once, one round trip per page", async () => {
    const me = await caller();
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await newSession(me)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: CallResult<z.infer<typeof SessionPage>> = await call("GET", `/api/v1/exam/sessions?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { token: me.bearer });
      expect(res.status).toBe(200);
      await expectTrips(res.requestId, 1);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((s) => s.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...created].reverse());
    expectProblem(await call("GET", "/api/v1/exam/sessions?cursor=garbage", { token: me.bearer }), 422, "validation_failed");
  });

  it("refuses malformed input with field errors", async () => {
    const me = await caller();
    const res = await call("POST", "/api/v1/exam/sessions", { token: me.bearer, body: { labId: "x", level: "EXPERT", mode: "EXAM" } });
    expectProblem(res, 422, "validation_failed");
    const paths = res.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["json.labId", "json.level", "json.mode", "json.policyId", "json.engineType"]));
    expectProblem(await call("GET", "/api/v1/exam/sessions/not-a-uuid", { token: me.bearer }), 422, "validation_failed");
  });

  it("walks CREATED → RUNNING → PAUSED → RUNNING → SUBMITTED → REVIEWED → CLOSED, one round trip per move", async () => {
    const me = await caller();
    const reviewer = await caller(["reviewer"]);
    const s = await newSession(me);

    const started = await move(me, s.id, "start");
    expect(started.body).toMatchObject({ status: "RUNNING" });
    expect(started.body.startedAt).toMatch(/Z$/);
    await expectTrips(started.requestId, 1);
    const [startedEvent] = await eventsOf(s.id, "SESSION_STARTED");
    // Written in the move's one round trip, then relayed by the route right after it responded.
    expect(startedEvent).toMatchObject({ system: "exam", actorId: me.sub, entityId: s.id, publishedAt: expect.any(Date) });
    expect(startedEvent!.payload).toMatchObject({ sessionId: s.id, level: "ASSOCIATE", engineType: "JUPYTER", mode: "PRACTICE" });

    for (const [name, status] of [["pause", "PAUSED"], ["resume", "RUNNING"]] as const) {
      const res = await move(me, s.id, name);
      expect(res.body.status).toBe(status);
      await expectTrips(res.requestId, 1);
    }

    for (const [step, score] of [[1, 40], [1, 80], [2, 50]] as const) {
      const sub = await call("POST", `/api/v1/exam/sessions/${s.id}/steps/${step}/submissions`, {
        token: me.bearer,
        body: { result: "PARTIAL", score, errorCodes: [], runtimeMs: 100 },
      });
      expect(sub.status).toBe(201);
    }
    const submitted = await move(me, s.id, "submit");
    // Best per step: 80 and 50 → mean 65.
    expect(submitted.body).toMatchObject({ status: "SUBMITTED", finalScore: 65 });
    expect(submitted.body.endedAt).toMatch(/Z$/);
    await expectTrips(submitted.requestId, 1);
    const [final] = await eventsOf(s.id, "SESSION_FINAL_SUBMITTED");
    expect(final!.payload).toMatchObject({ sessionId: s.id, finalScore: 65, mode: "PRACTICE", level: "ASSOCIATE" });

    const reviewed = await move(reviewer, s.id, "review");
    expect(reviewed.body.status).toBe("REVIEWED");
    await expectTrips(reviewed.requestId, 1);
    const closed = await move(me, s.id, "close");
    expect(closed.body.status).toBe("CLOSED");
    await expectTrips(closed.requestId, 1);
    // Only the two event-bearing moves wrote events.
    expect((await eventsOf(s.id)).map((e) => e.eventType)).toEqual(["SESSION_STARTED", "STEP_SUBMITTED", "STEP_SUBMITTED", "STEP_SUBMITTED", "SESSION_FINAL_SUBMITTED"]);
  });

  it("answers every move that does not fit the state with 409 naming the state, and changes nothing", async () => {
    const me = await caller();
    const staff = await caller(["reviewer", "proctor"]);
    const s = await newSession(me);
    const invalid: Record<string, string[]> = {
      CREATED: ["pause", "resume", "submit", "close"],
      RUNNING: ["start", "resume", "close"],
      PAUSED: ["start", "pause", "submit", "close"],
      SUBMITTED: ["start", "pause", "resume", "submit", "close"],
      REVIEWED: ["start", "pause", "resume", "submit"],
      CLOSED: ["start", "pause", "resume", "submit", "close"],
    };
    const staffInvalid: Record<string, string[]> = {
      CREATED: ["review"],
      RUNNING: ["review"],
      PAUSED: ["review"],
      SUBMITTED: [],
      REVIEWED: ["review", "force-close"],
      CLOSED: ["review", "force-close"],
    };
    const path: [string, string, string][] = [
      ["CREATED", "start", "RUNNING"],
      ["RUNNING", "pause", "PAUSED"],
      ["PAUSED", "resume", "RUNNING"],
      ["RUNNING", "submit", "SUBMITTED"],
      ["SUBMITTED", "review", "REVIEWED"],
      ["REVIEWED", "close", "CLOSED"],
    ];
    const seen = new Set<string>();
    for (const [state, next, after] of [...path, ["CLOSED", "", ""] as [string, string, string]]) {
      if (!seen.has(state)) {
        seen.add(state);
        for (const name of invalid[state]!) {
          const res = await move(me, s.id, name);
          expectProblem(res, 409, "invalid_state");
          expect(res.body.currentStatus).toBe(state);
          expect(res.body.detail).toContain(state);
          await expectTrips(res.requestId, 1);
        }
        for (const name of staffInvalid[state]!) {
          const res = await move(staff, s.id, name);
          expectProblem(res, 409, "invalid_state");
          expect(res.body.currentStatus).toBe(state);
        }
      }
      if (!next) break;
      const who = next === "review" ? staff : me;
      expect((await move(who, s.id, next)).body.status).toBe(after);
    }
    expect((await eventsOf(s.id)).map((e) => e.eventType)).toEqual(["SESSION_STARTED", "SESSION_FINAL_SUBMITTED"]);
  });

  it("force-closes every open state for a proctor or admin, and nothing else", async () => {
    const me = await caller();
    const proctor = await caller(["proctor"]);
    const admin = await caller(["admin"]);
    const setups: [string[], string][] = [
      [[], "CREATED"],
      [["start"], "RUNNING"],
      [["start", "pause"], "PAUSED"],
      [["start", "submit"], "SUBMITTED"],
    ];
    for (const [moves, state] of setups) {
      for (const closer of [proctor, admin]) {
        const s = await newSession(me);
        for (const m of moves) expect((await move(me, s.id, m)).status).toBe(200);
        const res = await move(closer, s.id, "force-close");
        expect(res.status, state).toBe(200);
        expect(res.body).toMatchObject({ status: "FORCE_CLOSED" });
        expect(res.body.endedAt).toMatch(/Z$/);
        await expectTrips(res.requestId, 1);
        const again = await move(closer, s.id, "force-close");
        expectProblem(again, 409, "invalid_state");
        expect(again.body.currentStatus).toBe("FORCE_CLOSED");
      }
    }
  });

  it("keeps roles to their moves: learners cannot review or force-close, reviewers cannot force-close, nobody moves another's session as a learner", async () => {
    const me = await caller();
    const other = await caller();
    const reviewer = await caller(["reviewer"]);
    const proctor = await caller(["proctor"]);
    const s = await runningSession(me);

    for (const name of ["start", "pause", "resume", "submit", "close"]) {
      expectProblem(await move(other, s.id, name), 404, "not_found");
    }
    for (const [who, name] of [[me, "review"], [me, "force-close"], [other, "force-close"], [reviewer, "force-close"], [proctor, "review"]] as const) {
      const res = await move(who, s.id, name);
      expectProblem(res, 403, "forbidden");
      await expectTrips(res.requestId, 0);
    }
    // Staff see the session but may not make the owner's moves on it.
    expect((await call("GET", `/api/v1/exam/sessions/${s.id}`, { token: reviewer.bearer })).status).toBe(200);
    expect((await call("GET", `/api/v1/exam/sessions/${s.id}`, { token: proctor.bearer })).status).toBe(200);
    expectProblem(await move(reviewer, s.id, "pause"), 404, "not_found");
    expectProblem(await call("GET", `/api/v1/exam/sessions/${s.id}`, { token: other.bearer }), 404, "not_found");
    expect((await call("GET", `/api/v1/exam/sessions/${s.id}`, { token: me.bearer })).body.status).toBe("RUNNING");

    expectProblem(await call("GET", `/api/v1/exam/sessions?userId=${me.sub}`, { token: other.bearer }), 403, "forbidden");
    const staffList = await call("GET", `/api/v1/exam/sessions?userId=${me.sub}&status=RUNNING`, { token: reviewer.bearer });
    expect(staffList.body.items.map((x: { id: string }) => x.id)).toEqual([s.id]);
    expect((await call("GET", `/api/v1/exam/sessions?status=PAUSED`, { token: me.bearer })).body.items).toEqual([]);
  });

  it("lets exactly one of two concurrent transitions win", async () => {
    const me = await caller();
    const proctor = await caller(["proctor"]);
    for (let round = 0; round < 3; round++) {
      const s = await newSession(me);
      const results = await Promise.all([move(me, s.id, "start"), move(me, s.id, "start")]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
      expect(await eventsOf(s.id, "SESSION_STARTED")).toHaveLength(1);

      // Both leave RUNNING: after either, the other no longer fits.
      const race = await Promise.all([move(me, s.id, "submit"), move(me, s.id, "pause")]);
      expect(race.map((r) => r.status).sort()).toEqual([200, 409]);
      const loser = race.find((r) => r.status === 409)!;
      const winner = race.find((r) => r.status === 200)!;
      expect(loser.body.currentStatus).toBe(winner.body.status);
      expect(await eventsOf(s.id, "SESSION_FINAL_SUBMITTED")).toHaveLength(winner.body.status === "SUBMITTED" ? 1 : 0);

      const closes = await Promise.all([move(proctor, s.id, "force-close"), move(proctor, s.id, "force-close")]);
      expect(closes.map((r) => r.status).sort()).toEqual([200, 409]);
    }
  });

  it("requires authentication", async () => {
    const res = await call("GET", "/api/v1/exam/sessions");
    expect(res.status).toBe(401);
  });
});

describe("API description", () => {
  it("lists every exam flow route in /openapi.json", async () => {
    const doc = await call("GET", "/openapi.json");
    const paths = doc.body.paths as Record<string, Record<string, unknown>>;
    const expected: [string, string][] = [
      ["/api/v1/exam/plans", "post"], ["/api/v1/exam/plans", "get"], ["/api/v1/exam/plans/{id}", "get"],
      ["/api/v1/exam/plans/{id}/tasks", "get"], ["/api/v1/exam/plans/{id}/tasks/{taskId}", "patch"], ["/api/v1/exam/plans/{id}/replan", "post"],
      ["/api/v1/exam/sessions", "post"], ["/api/v1/exam/sessions", "get"], ["/api/v1/exam/sessions/{id}", "get"],
      ...["start", "pause", "resume", "submit", "review", "close", "force-close"].map((m): [string, string] => [`/api/v1/exam/sessions/{id}/${m}`, "post"]),
      ["/api/v1/exam/sessions/{id}/cells", "post"], ["/api/v1/exam/runtime-config", "get"],
      ["/api/v1/exam/sessions/{id}/steps/{stepNo}/submissions", "post"], ["/api/v1/exam/sessions/{id}/submissions", "get"],
      ["/api/v1/exam/sessions/{id}/policy-events", "post"], ["/api/v1/exam/audit/policy-events", "get"],
    ];
    for (const [path, method] of expected) expect(paths[path]?.[method], `${method} ${path}`).toBeDefined();
  });
});
