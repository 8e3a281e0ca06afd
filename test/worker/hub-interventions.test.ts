import type { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import type { Intervention, InterventionPage } from "../../src/hub/interventions.routes";
import { call, expectProblem, roundTrips } from "./helpers";
import { createStudent, event, ingest, planOf, school, sql, teacher } from "./hub-helpers";

const hub = "/api/v1/hub";
type InterventionBody = z.infer<typeof Intervention>;
type Page = z.infer<typeof InterventionPage>;

async function setup() {
  const schoolId = school();
  const bearer = await teacher(schoolId);
  const student = await createStudent(bearer, { schoolId });
  return { bearer, student };
}

const graded = (concept: string, correct: number, wrong: number, daysAgo = 1) =>
  Array.from({ length: correct + wrong }, (_, i) =>
    event({
      eventType: i % 2 ? "test" : "study",
      content: { concept, result: i < correct ? "correct" : "incorrect", time_spent: 60 },
      occurredAt: new Date(Date.now() - daysAgo * 86_400_000 - i * 1000).toISOString(),
    }),
  );

describe("hub interventions", () => {
  it("are created by a teacher, read, and listed newest first; active ones by the partial index", async () => {
    const { bearer, student } = await setup();
    const body = {
      type: "teacher_requested",
      weakAreas: [{ concept: "이차함수", current_mastery: 0.65, target_mastery: 0.85, priority: 1 }],
      learningPath: [
        { step: 1, activity: "review_concept", concept: "이차함수 기본", estimated_duration: 1800 },
        { step: 2, activity: "practice", problem_set_id: "PS_456", num_problems: 10, estimated_duration: 2400 },
      ],
    };
    const created = await call<InterventionBody>("POST", `${hub}/students/${student.id}/interventions`, { token: bearer, body });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...body, studentId: student.id, status: "active", progress: { completed: 0, total: 2 }, completedAt: null });
    expect((await roundTrips(created.requestId)).neon).toBe(1);

    const second = await call<InterventionBody>("POST", `${hub}/students/${student.id}/interventions`, { token: bearer, body: { ...body, type: "auto" } });
    await call("POST", `${hub}/interventions/${second.body.id}/status`, { token: bearer, body: { status: "paused" } });

    const read = await call<InterventionBody>("GET", `${hub}/interventions/${created.body.id}`, { token: bearer });
    expect(read.body).toEqual(created.body);
    expect((await roundTrips(read.requestId)).neon).toBe(1);

    const all = await call<Page>("GET", `${hub}/students/${student.id}/interventions`, { token: bearer });
    expect(all.body.items.map((i) => i.id)).toEqual([second.body.id, created.body.id]);
    const active = await call<Page>("GET", `${hub}/students/${student.id}/interventions?status=active`, { token: bearer });
    expect(active.body.items.map((i) => i.id)).toEqual([created.body.id]);
    expect((await roundTrips(active.requestId)).neon).toBe(1);

    const bad = await call("POST", `${hub}/students/${student.id}/interventions`, { token: bearer, body: { ...body, type: "magic", weakAreas: [] } });
    expectProblem(bad, 422, "validation_failed");
    expectProblem(await call("POST", `${hub}/students/${crypto.randomUUID()}/interventions`, { token: bearer, body }), 404, "not_found");
  });

  it("moves active ↔ paused → completed | cancelled with conditional updates; 409 names the current state", async () => {
    const { bearer, student } = await setup();
    const body = { type: "teacher_requested", weakAreas: [{ concept: "x" }], learningPath: [{ step: 1, activity: "a" }, { step: 2, activity: "b" }] };
    const { body: iv } = await call<InterventionBody>("POST", `${hub}/students/${student.id}/interventions`, { token: bearer, body });
    const to = (status: string) => call("POST", `${hub}/interventions/${iv.id}/status`, { token: bearer, body: { status } });

    const paused = await to("paused");
    expect(paused.body.status).toBe("paused");
    expect((await roundTrips(paused.requestId)).neon).toBe(1);
    const again = await to("paused");
    expectProblem(again, 409, "invalid_transition");
    expect(again.body.currentStatus).toBe("paused");
    expect((await to("active")).body.status).toBe("active");

    const progressed = await call<InterventionBody>("PATCH", `${hub}/interventions/${iv.id}/progress`, { token: bearer, body: { completed: 1 } });
    expect(progressed.body.progress).toEqual({ completed: 1, total: 2 });
    expect((await roundTrips(progressed.requestId)).neon).toBe(1);
    expectProblem(await call("PATCH", `${hub}/interventions/${iv.id}/progress`, { token: bearer, body: { completed: 3 } }), 422, "progress_out_of_range");
    expect((await call("PATCH", `${hub}/interventions/${iv.id}/progress`, { token: bearer, body: { completed: 3, total: 4 } })).body.progress).toEqual({ completed: 3, total: 4 });

    const done = await to("completed");
    expect(done.body.status).toBe("completed");
    expect(Date.parse(done.body.completedAt!)).toBeGreaterThan(Date.now() - 60_000);
    for (const status of ["active", "paused", "cancelled"]) {
      const refused = await to(status);
      expectProblem(refused, 409, "invalid_transition");
      expect(refused.body.currentStatus).toBe("completed");
    }
    expectProblem(await call("PATCH", `${hub}/interventions/${iv.id}/progress`, { token: bearer, body: { completed: 4 } }), 409, "intervention_ended");
    expectProblem(await call("POST", `${hub}/interventions/${crypto.randomUUID()}/status`, { token: bearer, body: { status: "paused" } }), 404, "not_found");

    const { body: other } = await call("POST", `${hub}/students/${student.id}/interventions`, { token: bearer, body });
    const cancelled = await call("POST", `${hub}/interventions/${other.id}/status`, { token: bearer, body: { status: "cancelled" } });
    expect(cancelled.body).toMatchObject({ status: "cancelled" });
    expect(cancelled.body.completedAt).not.toBeNull();
  });

  it("derives weak areas from recent history and proposes a learning path", async () => {
    const { bearer, student } = await setup();
    const events = [
      ...graded("fractions", 1, 4), // 0.2: weakest
      ...graded("geometry", 3, 2), // 0.6
      ...graded("algebra", 5, 0), // 1.0: strong
      ...graded("probability", 0, 2), // only 2 attempts: too few
      ...graded("statistics", 0, 5, 60), // outside the 30-day window
      event({ content: { concept: "fractions", action: "watched_video" } }), // ungraded
    ];
    expect((await ingest(bearer, student.id, events)).status).toBe(201);

    const res = await call<InterventionBody>("POST", `${hub}/students/${student.id}/interventions/auto`, { token: bearer, body: {} });
    expect(res.status).toBe(201);
    expect((await roundTrips(res.requestId)).neon).toBe(1);
    expect(res.body).toMatchObject({ type: "auto", status: "active", progress: { completed: 0, total: 4 } });
    expect(res.body.weakAreas).toEqual([
      { concept: "fractions", current_mastery: 0.2, target_mastery: 0.85, attempts: 5, priority: 1 },
      { concept: "geometry", current_mastery: 0.6, target_mastery: 0.85, attempts: 5, priority: 2 },
    ]);
    expect(res.body.learningPath.map((s) => [s.step, s.activity, s.concept])).toEqual([
      [1, "review_concept", "fractions"],
      [2, "practice", "fractions"],
      [3, "review_concept", "geometry"],
      [4, "practice", "geometry"],
    ]);
    expect((await call("GET", `${hub}/interventions/${res.body.id}`, { token: bearer })).body).toEqual(res.body);

    const wider = await call<InterventionBody>("POST", `${hub}/students/${student.id}/interventions/auto`, { token: bearer, body: { windowDays: 90, minAttempts: 2, maxAreas: 10 } });
    expect(wider.body.weakAreas.map((w) => w.concept)).toEqual(["statistics", "probability", "fractions", "geometry"]);

    const strong = await setup();
    await ingest(strong.bearer, strong.student.id, graded("algebra", 5, 0));
    expectProblem(await call("POST", `${hub}/students/${strong.student.id}/interventions/auto`, { token: strong.bearer, body: {} }), 422, "no_weak_areas");
    expectProblem(await call("POST", `${hub}/students/${crypto.randomUUID()}/interventions/auto`, { token: bearer, body: {} }), 404, "not_found");
  });

  it("plans the active list on the partial index idx_interventions_active", async () => {
    const plan = await planOf(sql`select * from hub.interventions where student_id = ${crypto.randomUUID()} and status = 'active' order by created_at desc limit 20`);
    expect(plan).toMatch(/idx_interventions_active/);
  });
});
