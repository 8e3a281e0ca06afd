import { describe, expect, it } from "vitest";
import type { Principal } from "../../src/platform/auth";
import { loadConfig } from "../../src/platform/config";
import { createDatabase, runAs } from "../../src/platform/db";
import { MAX_FREE_JSON_BYTES, MAX_JSON_DEPTH } from "../../src/platform/input";
import { encodeCursor } from "../../src/platform/paging";
import { classrooms } from "../../src/seedtest/schema";
import { eq } from "drizzle-orm";
import { newSession, caller } from "./exam-helpers";
import { call, expectProblem, testEnv, token, type CallResult } from "./helpers";
import { adminSql, createStudent, school, sql } from "./hub-helpers";

const HUB = "/api/v1/hub";
const SEEDTEST = "/api/v1/seedtest";
const admin = () => token({ roles: ["admin"] });

/** A 422 whose field errors include `path`. */
function expectField(res: CallResult, path: string) {
  expectProblem(res, 422, res.body?.code === "invalid_events" ? "invalid_events" : "validation_failed");
  expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
}

/** `{"d":{"d":…"bottom"…}}` as JSON text: stringifying such a value would exhaust the stack. */
const deep = (levels: number) => `${'{"d":'.repeat(levels)}"bottom"${"}".repeat(levels)}`;
const studentBody = (name: string, metadata: string) => `{"name":${JSON.stringify(name)},"schoolId":"${school()}","grade":3,"metadata":${metadata}}`;
const json = { "Content-Type": "application/json" };

const studentsNamed = async (name: string) =>
  (await adminSql<{ n: number }>(sql`select count(*)::int as n from hub.students where name = ${name}`))[0]!.n;

describe("unpaired surrogates are a 422 naming where they are, never stored mangled", () => {
  it("in a body string and in an object key", async () => {
    const bearer = await admin();
    const name = `lone-${crypto.randomUUID()}`;
    // JSON.stringify writes a lone surrogate as a \u escape, which the Worker parses back into one.
    expectField(await call("POST", `${HUB}/students`, { token: bearer, rawBody: studentBody(`${name}\ud800`, "{}"), headers: json }), "json.name");
    expectField(await call("POST", `${HUB}/students`, { token: bearer, rawBody: studentBody(name, '{"k\\udc00":1}'), headers: json }), "json.metadata.k\udc00");
    expect(await studentsNamed(name)).toBe(0);
    // A well-formed pair is fine.
    expect((await call("POST", `${HUB}/students`, { token: bearer, rawBody: studentBody(`${name} \ud83d\ude00`, "{}"), headers: json })).status).toBe(201);
  });
});

describe("NUL characters are a 422 naming where they are, never a 500", () => {
  it("in a body string, an object key at any depth and a JSON value", async () => {
    const bearer = await admin();
    const name = `nul-${crypto.randomUUID()}`;
    expectField(await call("POST", `${HUB}/students`, { token: bearer, body: { name: `${name}\u0000`, schoolId: school(), grade: 3 } }), "json.name");
    expectField(
      await call("POST", `${HUB}/students`, { token: bearer, body: { name, schoolId: school(), grade: 3, metadata: { a: { "b\u0000": 1 } } } }),
      "json.metadata.a.b\\u0000",
    );
    expectField(
      await call("POST", `${HUB}/students`, { token: bearer, body: { name, schoolId: school(), grade: 3, metadata: { list: ["ok", "x\u0000"] } } }),
      "json.metadata.list.1",
    );
    expect(await studentsNamed(name)).toBe(0);
  });

  it("in a path id, a query value, a JSON query value and a cursor's key", async () => {
    const bearer = await admin();
    expectField(await call("GET", `${SEEDTEST}/classrooms/a%00b`, { token: bearer }), "param.classroomId");
    expectField(await call("GET", `${HUB}/students?q=ab%00c`, { token: bearer }), "query.q");
    expectField(await call("GET", `${HUB}/students?metadata=${encodeURIComponent('{"k":"\\u0000"}')}`, { token: bearer }), "query.metadata.k");
    const cursor = encodeCursor(["2026-01-01T00:00:00.000000Z", "topic\u0000"]);
    expectField(await call("GET", `${SEEDTEST}/interest-goals?cursor=${cursor}`, { token: bearer }), "query.cursor.1");
  });
});

describe("free-form JSON has depth and size caps, checked before anything is written", () => {
  it(`refuses JSON nested deeper than ${MAX_JSON_DEPTH} levels, and the lists stay readable`, async () => {
    const bearer = await admin();
    const name = `deep-${crypto.randomUUID()}`;
    const res = await call("POST", `${HUB}/students`, { token: bearer, rawBody: studentBody(name, deep(10_000)), headers: json });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors[0].message).toMatch(/deeper than/);
    expect(await studentsNamed(name)).toBe(0);
    expect((await call("GET", `${HUB}/students?limit=100`, { token: bearer })).status).toBe(200);

    const fits = await call("POST", `${HUB}/students`, { token: bearer, rawBody: studentBody(name, deep(MAX_JSON_DEPTH - 2)), headers: json });
    expect(fits.status).toBe(201);
  });

  it(`refuses a free-form field over ${MAX_FREE_JSON_BYTES} bytes`, async () => {
    const bearer = await admin();
    const res = await call("POST", `${SEEDTEST}/classrooms`, { token: bearer, body: { name: "big", metadata: { blob: "x".repeat(MAX_FREE_JSON_BYTES) } } });
    expectField(res, "json.metadata");
  });
});

describe("cursors", () => {
  it("round-trip keys outside Latin-1 and refuse anything this API did not issue", async () => {
    const sub = crypto.randomUUID();
    const learner = await token({ sub });
    for (const topic of ["수학-🙂", "물리-🚀"]) {
      const put = await call("PUT", `${SEEDTEST}/interest-goals/${encodeURIComponent(topic)}`, { token: learner, body: { interestLevel: 0.5 } });
      expect(put.status).toBe(201);
    }
    const first = await call("GET", `${SEEDTEST}/interest-goals?limit=1`, { token: learner });
    expect(first.status).toBe(200);
    expect(first.body.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const second = await call("GET", `${SEEDTEST}/interest-goals?limit=1&cursor=${first.body.nextCursor}`, { token: learner });
    expect(second.status).toBe(200);
    expect([first.body.items[0].topicId, second.body.items[0].topicId].sort()).toEqual(["물리-🚀", "수학-🙂"]);

    const issued = first.body.nextCursor as string;
    const tampered = [
      `${issued}=`, // padding the API never writes
      issued.slice(0, -2), // truncated
      encodeCursor(["2026-01-01T00:00:00.000000Z", "t", "extra"]), // wrong shape
      encodeCursor(["yesterday", "t"]), // not a key time
      encodeCursor({ t: "2026-01-01T00:00:00.000000Z" }),
      btoa(" [1,2]"), // not the canonical encoding of its JSON
      "%F0%9F%99%82", // not base64url at all
    ];
    for (const cursor of tampered) {
      const res = await call("GET", `${SEEDTEST}/interest-goals?cursor=${cursor}`, { token: learner });
      expectField(res, "query.cursor");
    }
  });
});

describe("PATCH with nothing to change is a 422 naming the body", () => {
  it("on every PATCH route that takes optional fields", async () => {
    const bearer = await admin();
    const student = await createStudent(bearer, { schoolId: school() });
    const task = await call("POST", `${HUB}/tasks`, { token: bearer, body: { studentId: student.id, taskType: "daily_report", scheduleType: "interval", intervalSeconds: 3600 } });
    expect(task.status).toBe(201);
    const room = await call("POST", `${SEEDTEST}/classrooms`, { token: bearer, body: { name: "patch-me" } });
    expect(room.status).toBe(201);
    for (const path of [`${HUB}/tasks/${task.body.id}`, `${HUB}/students/${student.id}`, `${SEEDTEST}/classrooms/${room.body.classroomId}`]) {
      const res = await call("PATCH", path, { token: bearer, body: {} });
      expectField(res, "json");
    }
  });
});

describe("a route's own validation hook falls back to the platform's problem", () => {
  it("answers an invalid id on event ingest with a problem, not the validator's internals", async () => {
    const res = await call("POST", `${HUB}/students/not-a-uuid/events`, { token: await admin(), body: { events: [] } });
    expectField(res, "param.id");
    expect(JSON.stringify(res.body)).not.toMatch(/ZodError|success/);
  });
});

describe("a teacher may not move a classroom to another org", () => {
  const db = createDatabase(loadConfig(testEnv), "input-test");

  it("is refused by the API and by row-level security alike; admins may", async () => {
    const orgId = 100_000 + Math.floor(Math.random() * 1_000_000);
    const sub = crypto.randomUUID();
    const teacher = await token({ sub, roles: ["teacher"], tenant_id: String(orgId) });
    const room = await call("POST", `${SEEDTEST}/classrooms`, { token: teacher, body: { name: "mine", orgId, teacherId: sub } });
    expect(room.status).toBe(201);
    const id = room.body.classroomId as string;

    const moved = await call("PATCH", `${SEEDTEST}/classrooms/${id}`, { token: teacher, body: { orgId: orgId + 1 } });
    expectProblem(moved, 403, "forbidden");
    expect(moved.body.errors).toEqual([{ path: "json.orgId", message: "must stay the classroom's org" }]);
    const renamed = await call("PATCH", `${SEEDTEST}/classrooms/${id}`, { token: teacher, body: { name: "still mine", orgId } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.orgId).toBe(orgId);

    const asTeacher: Principal = { userId: sub, tenantId: String(orgId), roles: ["teacher"], permissions: [] };
    const direct = runAs(db, asTeacher, [db.update(classrooms).set({ orgId: orgId + 1 }).where(eq(classrooms.classroomId, id)).returning()] as const);
    await expect(direct).rejects.toMatchObject({ code: "42501" });

    const byAdmin = await call("PATCH", `${SEEDTEST}/classrooms/${id}`, { token: await admin(), body: { orgId: orgId + 1 } });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body.orgId).toBe(orgId + 1);
  });
});

describe("action routes take no body", () => {
  it("accept an empty body with or without a Content-Type, and still refuse a non-JSON one", async () => {
    const who = await caller();
    const empty = () => new ReadableStream({ start: (controller) => controller.close() });
    const variants: { rawBody?: BodyInit; headers?: Record<string, string> }[] = [
      { rawBody: "" },
      { rawBody: "", headers: { "Content-Type": "text/plain" } },
      { rawBody: "", headers: { "Content-Type": "application/json" } },
      { rawBody: empty() },
      { rawBody: empty(), headers: { "Content-Type": "application/x-www-form-urlencoded" } },
    ];
    for (const variant of variants) {
      const session = await newSession(who);
      const res = await call("POST", `/api/v1/exam/sessions/${session.id}/start`, { token: who.bearer, ...variant });
      expect(res.status, JSON.stringify({ variant: variant.headers, body: res.body })).toBe(200);
    }
    const session = await newSession(who);
    const text = await call("POST", `/api/v1/exam/sessions/${session.id}/start`, { token: who.bearer, rawBody: "go", headers: { "Content-Type": "text/plain" } });
    expectProblem(text, 415, "unsupported_media_type");
  });

  it("and an optional body may be empty too", async () => {
    const learner = await token({ sub: crypto.randomUUID() });
    const started = await call("POST", `${SEEDTEST}/sessions`, { token: learner, body: {} });
    expect(started.status).toBe(201);
    const ended = await call("POST", `${SEEDTEST}/sessions/${started.body.sessionId}/end`, {
      token: learner,
      rawBody: "",
      headers: { "Content-Type": "application/json" },
    });
    expect(ended.status, JSON.stringify(ended.body)).toBe(200);
  });
});
