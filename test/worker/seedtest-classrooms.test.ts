import type { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { Classroom, ClassroomPage } from "../../src/seedtest/classrooms.routes";
import { call, expectProblem, roundTrips, token, type CallResult } from "./helpers";
import { BASE, expectCursorRefused, oneTrip, org } from "./seedtest-helpers";

type Room = z.infer<typeof Classroom>;
type RoomPage = z.infer<typeof ClassroomPage>;


describe("seedtest classrooms", () => {
  it("are created, read, listed with filters and pages, changed and deleted, one round trip each", async () => {
    const orgId = org();
    const teacherSub = crypto.randomUUID();
    const teacher = await token({ sub: teacherSub, roles: ["teacher"], tenant_id: String(orgId) });

    const created: CallResult<Room>[] = [];
    for (const name of ["1-A", "1-B", "1-C"]) {
      const res = await call<Room>("POST", `${BASE}/classrooms`, { token: teacher, body: { name, orgId, teacherId: teacherSub, gradeLevel: "1", metadata: { room: name } } });
      expect(res.status).toBe(201);
      await oneTrip(res);
      created.push(res);
    }
    const first = created[0]!.body;
    expect(first).toMatchObject({ name: "1-A", orgId, teacherId: teacherSub, gradeLevel: "1", metadata: { room: "1-A" } });
    expect(first.classroomId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const got = await call<Room>("GET", `${BASE}/classrooms/${first.classroomId}`, { token: teacher });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(first);
    await oneTrip(got);

    const page1 = await call<RoomPage>("GET", `${BASE}/classrooms?orgId=${orgId}&limit=2`, { token: teacher });
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((r) => r.name)).toEqual(["1-C", "1-B"]);
    expect(page1.body.nextCursor).toEqual(expect.any(String));
    await oneTrip(page1);
    const page2 = await call<RoomPage>("GET", `${BASE}/classrooms?orgId=${orgId}&limit=2&cursor=${page1.body.nextCursor}`, { token: teacher });
    expect(page2.body.items.map((r) => r.name)).toEqual(["1-A"]);
    expect(page2.body.nextCursor).toBeNull();
    await oneTrip(page2);
    // A cursor holds the list's key as the API wrote it: Postgres would take "infinity" as a time, the API does not.
    await expectCursorRefused(`${BASE}/classrooms?orgId=${orgId}&limit=2`, teacher, page1.body.nextCursor!, 0, "infinity");
    await expectCursorRefused(`${BASE}/classrooms?orgId=${orgId}&limit=2`, teacher, page1.body.nextCursor!, 1, "x".repeat(200));

    const byTeacher = await call<RoomPage>("GET", `${BASE}/classrooms?teacherId=${teacherSub.toUpperCase()}`, { token: teacher });
    expect(byTeacher.body.items).toHaveLength(3);
    const otherTeacher = await call("GET", `${BASE}/classrooms?orgId=${orgId}&teacherId=${crypto.randomUUID()}`, { token: teacher });
    expect(otherTeacher.body.items).toEqual([]);

    const patched = await call<Room>("PATCH", `${BASE}/classrooms/${first.classroomId}`, { token: teacher, body: { name: "1-A (renamed)", gradeLevel: null } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ classroomId: first.classroomId, name: "1-A (renamed)", gradeLevel: null, orgId });
    expect(Date.parse(patched.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(first.updatedAt));
    await oneTrip(patched);

    const deleted = await call("DELETE", `${BASE}/classrooms/${first.classroomId}`, { token: teacher });
    expect(deleted.status).toBe(204);
    await oneTrip(deleted);
    expectProblem(await call("GET", `${BASE}/classrooms/${first.classroomId}`, { token: teacher }), 404, "not_found");
    const gone = await call("DELETE", `${BASE}/classrooms/${first.classroomId}`, { token: teacher });
    expectProblem(gone, 404, "not_found");
    await oneTrip(gone);
  });

  it("are scoped: org members read, their teachers change, outsiders see nothing, admins everything", async () => {
    const orgId = org();
    const teacher = await token({ roles: ["teacher"], tenant_id: String(orgId) });
    const learner = await token({ roles: ["learner"], tenant_id: String(orgId) });
    const outsiderTeacher = await token({ roles: ["teacher"], tenant_id: String(org()) });
    const admin = await token({ roles: ["admin"] });
    const room = (await call<Room>("POST", `${BASE}/classrooms`, { token: teacher, body: { name: "2-A", orgId } })).body;
    const path = `${BASE}/classrooms/${room.classroomId}`;

    expect((await call("GET", path, { token: learner })).status).toBe(200);
    const learnerPatch = await call("PATCH", path, { token: learner, body: { name: "mine now" } });
    expectProblem(learnerPatch, 403, "forbidden");
    await oneTrip(learnerPatch);
    const learnerDelete = await call("DELETE", path, { token: learner });
    expectProblem(learnerDelete, 403, "forbidden");
    await oneTrip(learnerDelete);
    const learnerCreate = await call("POST", `${BASE}/classrooms`, { token: learner, body: { name: "x", orgId } });
    expectProblem(learnerCreate, 403, "forbidden");

    expectProblem(await call("GET", path, { token: outsiderTeacher }), 404, "not_found");
    expectProblem(await call("PATCH", path, { token: outsiderTeacher, body: { name: "x" } }), 404, "not_found");
    expectProblem(await call("DELETE", path, { token: outsiderTeacher }), 404, "not_found");
    expect((await call("GET", `${BASE}/classrooms?orgId=${orgId}`, { token: outsiderTeacher })).body.items).toEqual([]);
    // A teacher may not create classrooms in another org, nor move one there.
    expectProblem(await call("POST", `${BASE}/classrooms`, { token: outsiderTeacher, body: { name: "x", orgId } }), 403, "forbidden");
    // Not even as the new classroom's own teacher.
    const outsiderSub = crypto.randomUUID();
    const outsiderAsTeacher = await token({ sub: outsiderSub, roles: ["teacher"], tenant_id: String(orgId + 1) });
    const foreign = await call("POST", `${BASE}/classrooms`, { token: outsiderAsTeacher, body: { name: "x", orgId, teacherId: outsiderSub } });
    expectProblem(foreign, 403, "forbidden");
    expect((await call("GET", `${BASE}/classrooms?orgId=${orgId}`, { token: admin })).body.items).toHaveLength(1);
    const orgless = await call("POST", `${BASE}/classrooms`, { token: outsiderAsTeacher, body: { name: "y", orgId: null, teacherId: outsiderSub } });
    expect(orgless.status).toBe(201);
    expectProblem(await call("PATCH", path, { token: teacher, body: { orgId: orgId + 1 } }), 403, "forbidden");

    expect((await call("GET", `${BASE}/classrooms?orgId=${orgId}`, { token: admin })).body.items).toHaveLength(1);
    const adminPatch = await call<Room>("PATCH", path, { token: admin, body: { teacherId: null, metadata: { audited: true } } });
    expect(adminPatch.body).toMatchObject({ teacherId: null, metadata: { audited: true } });
    expect((await call("DELETE", path, { token: admin })).status).toBe(204);
  });

  it("are kept while sessions refer to them", async () => {
    const orgId = org();
    const teacher = await token({ roles: ["teacher"], tenant_id: String(orgId) });
    const learner = await token({ tenant_id: String(orgId) });
    const room = (await call("POST", `${BASE}/classrooms`, { token: teacher, body: { name: "3-A", orgId } })).body;
    expect((await call("POST", `${BASE}/sessions`, { token: learner, body: { classroomId: room.classroomId } })).status).toBe(201);
    const refused = await call("DELETE", `${BASE}/classrooms/${room.classroomId}`, { token: teacher });
    expectProblem(refused, 409, "classroom_in_use");
    await oneTrip(refused);
    // A learner of the org may not delete it at all: that is said first.
    expectProblem(await call("DELETE", `${BASE}/classrooms/${room.classroomId}`, { token: learner }), 403, "forbidden");
    expect((await call("GET", `${BASE}/classrooms/${room.classroomId}`, { token: teacher })).status).toBe(200);
  });

  it("rejects bad input with field errors and writes nothing", async () => {
    const orgId = org();
    const teacher = await token({ roles: ["teacher"], tenant_id: String(orgId) });
    const bad = await call("POST", `${BASE}/classrooms`, { token: teacher, body: { name: "", orgId: "seven", teacherId: "bob", extra: 1 } });
    expectProblem(bad, 422, "validation_failed");
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(["json.name", "json.orgId", "json.teacherId"]));
    expect((await roundTrips(bad.requestId)).neon).toBe(0);
    expect((await call("GET", `${BASE}/classrooms?orgId=${orgId}`, { token: teacher })).body.items).toEqual([]);

    const room = (await call("POST", `${BASE}/classrooms`, { token: teacher, body: { name: "4-A", orgId } })).body;
    const empty = await call("PATCH", `${BASE}/classrooms/${room.classroomId}`, { token: teacher, body: {} });
    expectProblem(empty, 422, "validation_failed");
    expect((await roundTrips(empty.requestId)).neon).toBe(0);
    const unknown = await call("PATCH", `${BASE}/classrooms/${room.classroomId}`, { token: teacher, body: { name: "4-B", classroomId: "renamed-id" } });
    expectProblem(unknown, 422, "validation_failed");
    expect((await roundTrips(unknown.requestId)).neon).toBe(0);
    expectProblem(await call("GET", `${BASE}/classrooms?cursor=not-a-cursor`, { token: teacher }), 422, "validation_failed");
    expectProblem(await call("GET", `${BASE}/classrooms?limit=1000`, { token: teacher }), 422, "validation_failed");
    expectProblem(await call("GET", `${BASE}/classrooms`), 401, "unauthenticated");
  });
});

describe("seedtest API description", () => {
  it("lists every seedtest route in /openapi.json", async () => {
    const doc = await call("GET", "/openapi.json");
    expect(doc.status).toBe(200);
    const paths = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>)
      .filter(([path]) => path.startsWith("/api/v1/seedtest/"))
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path.slice("/api/v1/seedtest".length)}`));
    expect(paths.sort()).toEqual([
      "DELETE /classrooms/{classroomId}",
      "GET /classrooms",
      "GET /classrooms/{classroomId}",
      "GET /features",
      "GET /interest-goals",
      "GET /sessions",
      "GET /sessions/{sessionId}",
      "PATCH /classrooms/{classroomId}",
      "POST /classrooms",
      "POST /sessions",
      "POST /sessions/{sessionId}/end",
      "PUT /features/{userId}/{topicId}/{date}",
      "PUT /interest-goals/{topicId}",
    ]);
  });
});
