import type { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import type { Student, StudentPage } from "../../src/hub/students.routes";
import { call, expectProblem, roundTrips, type CallResult } from "./helpers";
import { admin, createStudent, event, ingest, planOf, school, sql, teacher } from "./hub-helpers";

const base = "/api/v1/hub/students";
type StudentBody = z.infer<typeof Student>;
type Page = z.infer<typeof StudentPage>;

describe("hub students", () => {
  it("are created, read, updated and deleted in one round trip each; delete cascades", async () => {
    const schoolId = school();
    const bearer = await teacher(schoolId);
    const created = await call<StudentBody>("POST", base, {
      token: bearer,
      body: { name: "김철수", schoolId, grade: 10, className: "1반", studentNumber: "01", email: "s@example.com", metadata: { learning_style: "visual" } },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "김철수", schoolId, grade: 10, className: "1반", metadata: { learning_style: "visual" }, userId: null });
    expect(created.body.createdAt).toMatch(/Z$/);
    expect((await roundTrips(created.requestId)).neon).toBe(1);
    const id = created.body.id;

    const read = await call<StudentBody>("GET", `${base}/${id}`, { token: bearer });
    expect(read.body).toEqual(created.body);
    expect((await roundTrips(read.requestId)).neon).toBe(1);

    const patched = await call<StudentBody>("PATCH", `${base}/${id}`, { token: bearer, body: { grade: 11, metadata: { learning_style: "auditory" } } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ grade: 11, metadata: { learning_style: "auditory" } });
    expect(Date.parse(patched.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.body.updatedAt));
    expect((await roundTrips(patched.requestId)).neon).toBe(1);

    expect((await ingest(bearer, id, [event()])).status).toBe(201);
    const intervention = await call("POST", `${base}/${id}/interventions`, {
      token: bearer,
      body: { type: "teacher_requested", weakAreas: [{ concept: "x" }], learningPath: [{ step: 1, activity: "review_concept" }] },
    });
    expect(intervention.status).toBe(201);

    const deleted = await call("DELETE", `${base}/${id}`, { token: bearer });
    expect(deleted.status).toBe(204);
    expect((await roundTrips(deleted.requestId)).neon).toBe(1);
    expectProblem(await call("GET", `${base}/${id}`, { token: bearer }), 404, "not_found");
    // Cascade: the student's history and interventions went with it (admin sees every row).
    const root = await admin();
    expectProblem(await call("GET", `${base}/${id}/events`, { token: root }), 404, "not_found");
    expectProblem(await call("GET", `/api/v1/hub/interventions/${intervention.body.id}`, { token: root }), 404, "not_found");
    expectProblem(await call("DELETE", `${base}/${id}`, { token: bearer }), 404, "not_found");
  });

  it("refuses a duplicate identifier with 409 and a grade outside 1–12 with 422", async () => {
    const schoolId = school();
    const bearer = await teacher(schoolId);
    const body = { name: "A", schoolId, grade: 3, className: "2", studentNumber: "07" };
    await createStudent(bearer, body);
    const dup = await call("POST", base, { token: bearer, body: { ...body, name: "B" } });
    expectProblem(dup, 409, "unique_violation");
    expect(dup.body.constraint).toBe("students_unique_identifier");
    expect((await roundTrips(dup.requestId)).neon).toBe(1);

    for (const grade of [0, 13]) {
      const bad = await call("POST", base, { token: bearer, body: { ...body, studentNumber: "99", grade } });
      expectProblem(bad, 422, "validation_failed");
      expect(bad.body.errors[0].path).toBe("json.grade");
      expect((await roundTrips(bad.requestId)).neon).toBe(0);
    }
    const other = await createStudent(bearer, { ...body, studentNumber: "08" });
    expectProblem(await call("PATCH", `${base}/${other.id}`, { token: bearer, body: { studentNumber: "07" } }), 409, "unique_violation");
  });

  it("lists by school, grade and class with keyset pages, and by metadata containment", async () => {
    const schoolId = school();
    const bearer = await teacher(schoolId);
    const made = [];
    for (let i = 0; i < 5; i++) {
      made.push(await createStudent(bearer, { name: `Student ${i}`, schoolId, grade: i < 3 ? 5 : 6, className: "A", studentNumber: `${i}`, metadata: { club: i % 2 ? "chess" : "soccer", level: { math: i } } }));
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: CallResult<Page> = await call<Page>("GET", `${base}?schoolId=${schoolId}&limit=2${cursor ? `&cursor=${cursor}` : ""}`, { token: bearer });
      expect(page.status).toBe(200);
      expect((await roundTrips(page.requestId)).neon).toBe(1);
      seen.push(...page.body.items.map((s) => s.id));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(made.map((s) => s.id).reverse());

    const grade5 = await call("GET", `${base}?schoolId=${schoolId}&grade=5&className=A`, { token: bearer });
    expect(grade5.body.items).toHaveLength(3);
    const chess = await call<Page>("GET", `${base}?schoolId=${schoolId}&metadata=${encodeURIComponent('{"club":"chess"}')}`, { token: bearer });
    expect(chess.body.items.map((s) => s.name).sort()).toEqual(["Student 1", "Student 3"]);
    const nested = await call("GET", `${base}?metadata=${encodeURIComponent('{"level":{"math":4}}')}`, { token: bearer });
    expect(nested.body.items.map((s: { name: string }) => s.name)).toEqual(["Student 4"]);

    expectProblem(await call("GET", `${base}?metadata=${encodeURIComponent("[1]")}`, { token: bearer }), 422, "validation_failed");
    expectProblem(await call("GET", `${base}?cursor=bm9wZQ`, { token: bearer }), 422, "validation_failed");
  });

  it("searches names ranked by trigram similarity, paging by rank", async () => {
    const schoolId = school();
    const bearer = await teacher(schoolId);
    for (const name of ["Jonathan Smithers", "Jon Smith", "John Smith", "Mary Jones", "Smith"]) await createStudent(bearer, { name, schoolId });
    const res = await call<Page>("GET", `${base}?schoolId=${schoolId}&q=${encodeURIComponent("John Smith")}`, { token: bearer });
    expect(res.status).toBe(200);
    expect((await roundTrips(res.requestId)).neon).toBe(1);
    const names = res.body.items.map((s) => s.name);
    expect(names[0]).toBe("John Smith");
    expect(names).not.toContain("Mary Jones");
    const scores = res.body.items.map((s) => s.similarity!);
    expect(scores.every((x) => typeof x === "number")).toBe(true);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);

    const first = await call<Page>("GET", `${base}?schoolId=${schoolId}&q=${encodeURIComponent("John Smith")}&limit=2`, { token: bearer });
    const second = await call<Page>("GET", `${base}?schoolId=${schoolId}&q=${encodeURIComponent("John Smith")}&limit=2&cursor=${first.body.nextCursor}`, { token: bearer });
    expect([...first.body.items, ...second.body.items].map((s) => s.name)).toEqual(names.slice(0, 4));
  });

  it("plans name search on idx_students_name_trgm and metadata containment on idx_students_metadata_gin", async () => {
    expect(await planOf(sql`select * from hub.students where name % ${"John"} or name ilike ${"%John%"}`)).toMatch(/idx_students_name_trgm/);
    expect(await planOf(sql`select * from hub.students where metadata @> ${'{"club":"chess"}'}::jsonb`)).toMatch(/idx_students_metadata_gin/);
  });

  it("are described, with every hub route, in /openapi.json", async () => {
    const doc = await call("GET", "/openapi.json");
    const paths = Object.keys(doc.body.paths).filter((p) => p.startsWith("/api/v1/hub"));
    expect(paths).toEqual(
      expect.arrayContaining([
        "/api/v1/hub/students",
        "/api/v1/hub/students/{id}",
        "/api/v1/hub/students/{id}/events",
        "/api/v1/hub/archive/students/{id}/events",
        "/api/v1/hub/students/{id}/interventions",
        "/api/v1/hub/students/{id}/interventions/auto",
        "/api/v1/hub/interventions/{id}",
        "/api/v1/hub/interventions/{id}/progress",
        "/api/v1/hub/interventions/{id}/status",
        "/api/v1/hub/tasks",
        "/api/v1/hub/tasks/{id}",
        "/api/v1/hub/tasks/{id}/runs",
        "/api/v1/hub/tasks/{id}/runs/{runId}",
      ]),
    );
  });
});
