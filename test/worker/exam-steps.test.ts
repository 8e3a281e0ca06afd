import { describe, expect, it } from "vitest";
import type { z } from "@hono/zod-openapi";
import type { CellExecution, RuntimeConfig } from "../../src/exam/cells.routes";
import type { SubmissionList } from "../../src/exam/steps.routes";
import { call, expectProblem } from "./helpers";
import { caller, eventsOf, expectTrips, move, newSession, runningSession } from "./exam-helpers";

const submission = { result: "FAIL", score: 30, errorCodes: ["E_SHAPE", "E_NAN"], runtimeMs: 1200, codeSnapshotRef: "s3://snap/1" };
const submit = (bearer: string, id: string, step: number, body: unknown = submission) =>
  call("POST", `/api/v1/exam/sessions/${id}/steps/${step}/submissions`, { token: bearer, body });

describe("step submissions", () => {
  it("are numbered per step by the server, listed, and each emits STEP_SUBMITTED in the same transaction", async () => {
    const me = await caller();
    const s = await runningSession(me, { mode: "MOCK" });
    const first = await submit(me.bearer, s.id, 1);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ ...submission, sessionId: s.id, stepNo: 1, attemptNo: 1 });
    await expectTrips(first.requestId, 1);
    const [event] = await eventsOf(s.id, "STEP_SUBMITTED");
    expect(event).toMatchObject({ system: "exam", actorId: me.sub, entityId: s.id });
    expect(event!.payload).toEqual({
      sessionId: s.id, stepNo: 1, attemptNo: 1, result: "FAIL", score: 30, errorCodes: ["E_SHAPE", "E_NAN"],
      runtimeMs: 1200, overTime: false, mode: "MOCK", level: "ASSOCIATE",
    });

    expect((await submit(me.bearer, s.id, 1, { result: "PASS", score: 100, runtimeMs: 5 })).body).toMatchObject({ attemptNo: 2, errorCodes: [], codeSnapshotRef: null });
    expect((await submit(me.bearer, s.id, 2)).body.attemptNo).toBe(1);

    const all = await call<z.infer<typeof SubmissionList>>("GET", `/api/v1/exam/sessions/${s.id}/submissions`, { token: me.bearer });
    expect(all.body.items.map((x) => [x.stepNo, x.attemptNo])).toEqual([[1, 1], [1, 2], [2, 1]]);
    await expectTrips(all.requestId, 1);
    const step1 = await call("GET", `/api/v1/exam/sessions/${s.id}/submissions?step=1`, { token: me.bearer });
    expect(step1.body.items).toHaveLength(2);
  });

  it("gives 20 concurrent submissions to one step the attempts 1..20, no error, one event each", async () => {
    const me = await caller();
    const s = await runningSession(me);
    const results = await Promise.all(Array.from({ length: 20 }, () => submit(me.bearer, s.id, 3)));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(results.map((r) => r.body.attemptNo).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const events = await eventsOf(s.id, "STEP_SUBMITTED");
    expect(events.map((e) => e.payload.attemptNo).sort((a, b) => (a as number) - (b as number))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it("records a runtime over RUNTIME_STEP_TIMEOUT_SEC as a FAIL scoring 0 with STEP_TIMEOUT", async () => {
    const me = await caller();
    const s = await runningSession(me);
    const res = await submit(me.bearer, s.id, 1, { result: "PASS", score: 100, errorCodes: [], runtimeMs: 300_001 });
    expect(res.body).toMatchObject({ result: "FAIL", score: 0, errorCodes: ["STEP_TIMEOUT"], runtimeMs: 300_001 });
    const [event] = await eventsOf(s.id, "STEP_SUBMITTED");
    expect(event!.payload).toMatchObject({ overTime: true, result: "FAIL" });
    // Exactly at the limit is still in time.
    expect((await submit(me.bearer, s.id, 1, { result: "PASS", score: 90, runtimeMs: 300_000 })).body).toMatchObject({ result: "PASS", score: 90 });
  });

  it("is accepted only while RUNNING: 409 naming the state otherwise, nothing written", async () => {
    const me = await caller();
    const s = await newSession(me);
    const created = await submit(me.bearer, s.id, 1);
    expectProblem(created, 409, "invalid_state");
    expect(created.body.currentStatus).toBe("CREATED");
    await expectTrips(created.requestId, 1);
    await move(me, s.id, "start");
    await move(me, s.id, "pause");
    expect((await submit(me.bearer, s.id, 1)).body.currentStatus).toBe("PAUSED");
    await move(me, s.id, "resume");
    await move(me, s.id, "submit");
    expect((await submit(me.bearer, s.id, 1)).body.currentStatus).toBe("SUBMITTED");
    expect((await call("GET", `/api/v1/exam/sessions/${s.id}/submissions`, { token: me.bearer })).body.items).toEqual([]);
    expect(await eventsOf(s.id, "STEP_SUBMITTED")).toEqual([]);
  });

  it("refuses bad input with field errors", async () => {
    const me = await caller();
    const s = await runningSession(me);
    const bad = await submit(me.bearer, s.id, 1, { result: "MAYBE", score: 101, errorCodes: ["has space"], runtimeMs: -1, extra: true });
    expectProblem(bad, 422, "validation_failed");
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(
      expect.arrayContaining(["json.result", "json.score", "json.errorCodes.0", "json.runtimeMs"]),
    );
    await expectTrips(bad.requestId, 0);
    expectProblem(await submit(me.bearer, s.id, 0), 422, "validation_failed");
    expectProblem(await call("GET", `/api/v1/exam/sessions/${s.id}/submissions?step=x`, { token: me.bearer }), 422, "validation_failed");
  });

  it("are the owner's: others get 404; reviewers and admins read them, proctors see none; no staff can submit", async () => {
    const me = await caller();
    const s = await runningSession(me);
    await submit(me.bearer, s.id, 1);
    const other = await caller();
    expectProblem(await submit(other.bearer, s.id, 1), 404, "not_found");
    expectProblem(await call("GET", `/api/v1/exam/sessions/${s.id}/submissions`, { token: other.bearer }), 404, "not_found");
    for (const [role, visible] of [["reviewer", 1], ["proctor", 0], ["admin", 1]] as const) {
      const staff = await caller([role]);
      expect((await call("GET", `/api/v1/exam/sessions/${s.id}/submissions`, { token: staff.bearer })).body.items).toHaveLength(visible);
      expectProblem(await submit(staff.bearer, s.id, 1), 404, "not_found");
    }
    expectProblem(await call("GET", `/api/v1/exam/sessions/${crypto.randomUUID()}/submissions`, { token: me.bearer }), 404, "not_found");
  });
});

describe("cell executions", () => {
  it("are recorded as CELL_EXECUTED while RUNNING, flagged over RUNTIME_CELL_TIMEOUT_SEC", async () => {
    const me = await caller();
    const s = await runningSession(me);
    const ok = await call<z.infer<typeof CellExecution>>("POST", `/api/v1/exam/sessions/${s.id}/cells`, { token: me.bearer, body: { cellId: "c1", runtimeMs: 60_000 } });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ sessionId: s.id, cellId: "c1", runtimeMs: 60_000, outcome: "OK", overTime: false, timeoutMs: 60_000 });
    await expectTrips(ok.requestId, 1);
    const slow = await call<z.infer<typeof CellExecution>>("POST", `/api/v1/exam/sessions/${s.id}/cells`, { token: me.bearer, body: { cellId: "c2", runtimeMs: 60_001, outcome: "ERROR" } });
    expect(slow.body.overTime).toBe(true);
    const events = await eventsOf(s.id, "CELL_EXECUTED");
    expect(events.map((e) => e.id).sort()).toEqual([ok.body.eventId, slow.body.eventId].sort());
    expect(events.find((e) => e.id === slow.body.eventId)!.payload).toMatchObject({ sessionId: s.id, cellId: "c2", runtimeMs: 60_001, overTime: true, outcome: "ERROR" });
  });

  it("are refused outside RUNNING (409), for others' sessions (404) and with bad input (422)", async () => {
    const me = await caller();
    const s = await newSession(me);
    const res = await call("POST", `/api/v1/exam/sessions/${s.id}/cells`, { token: me.bearer, body: { cellId: "c1", runtimeMs: 1 } });
    expectProblem(res, 409, "invalid_state");
    expect(res.body.currentStatus).toBe("CREATED");
    await expectTrips(res.requestId, 1);
    expect(await eventsOf(s.id, "CELL_EXECUTED")).toEqual([]);
    await move(me, s.id, "start");
    const other = await caller();
    expectProblem(await call("POST", `/api/v1/exam/sessions/${s.id}/cells`, { token: other.bearer, body: { cellId: "c1", runtimeMs: 1 } }), 404, "not_found");
    expectProblem(await call("POST", `/api/v1/exam/sessions/${s.id}/cells`, { token: me.bearer, body: { runtimeMs: -5 } }), 422, "validation_failed");
  });
});

describe("runtime configuration", () => {
  it("hands clients the image and limits from configuration without touching Postgres", async () => {
    const me = await caller();
    const res = await call<z.infer<typeof RuntimeConfig>>("GET", "/api/v1/exam/runtime-config", { token: me.bearer });
    expect(res.body).toEqual({
      image: "ghcr.io/edge-api/lab-runtime:2026.11",
      cpuLimit: 1,
      memLimitMb: 2048,
      cellTimeoutSec: 60,
      stepTimeoutSec: 300,
      referenceAllowlistDomains: expect.arrayContaining(["docs.python.org"]),
    });
    await expectTrips(res.requestId, 0);
    expect((await call("GET", "/api/v1/exam/runtime-config")).status).toBe(401);
  });
});
