import type { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { Features, FeaturesPage } from "../../src/seedtest/features.routes";
import { Goal, GoalPage } from "../../src/seedtest/interest-goals.routes";
import { call, expectProblem, roundTrips, token } from "./helpers";
import { BASE, classroomIn, expectCursorRefused, oneTrip, org } from "./seedtest-helpers";

type InterestGoal = z.infer<typeof Goal>;
type DailyFeatures = z.infer<typeof Features>;

/** A teacher with a classroom in which the learner has held a session: the teacher teaches the learner. */
async function teacherOf(learnerSub: string) {
  const orgId = org();
  const { teacher, classroomId } = await classroomIn(orgId);
  const learner = await token({ sub: learnerSub, tenant_id: String(orgId) });
  expect((await call("POST", `${BASE}/sessions`, { token: learner, body: { classroomId } })).status).toBe(201);
  return teacher;
}

describe("seedtest interest goals", () => {
  it("are upserted by (user, topic), keeping fields the body leaves out", async () => {
    const sub = crypto.randomUUID();
    const learner = await token({ sub });
    const created = await call<InterestGoal>("PUT", `${BASE}/interest-goals/algebra`, { token: learner, body: { interestLevel: 0.4, goalTarget: 80 } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ userId: sub, topicId: "algebra", interestLevel: 0.4, goalTarget: 80 });
    await oneTrip(created);

    const updated = await call<InterestGoal>("PUT", `${BASE}/interest-goals/algebra`, { token: learner, body: { interestLevel: 1 } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ interestLevel: 1, goalTarget: 80, setAt: created.body.setAt });
    await oneTrip(updated);
    const cleared = await call<InterestGoal>("PUT", `${BASE}/interest-goals/algebra`, { token: learner, body: { goalTarget: null } });
    expect(cleared.body).toMatchObject({ interestLevel: 1, goalTarget: null });

    for (const interestLevel of [1.01, -0.1, "high"]) {
      const bad = await call("PUT", `${BASE}/interest-goals/algebra`, { token: learner, body: { interestLevel } });
      expectProblem(bad, 422, "validation_failed");
      expect(bad.body.errors[0].path).toBe("json.interestLevel");
      expect((await roundTrips(bad.requestId)).neon).toBe(0);
    }
    expect((await call<z.infer<typeof GoalPage>>("GET", `${BASE}/interest-goals`, { token: learner })).body.items[0]!.interestLevel).toBe(1);
  });

  it("are listed most recently set first, a page at a time, for their owner, teachers and admins", async () => {
    const sub = crypto.randomUUID();
    const learner = await token({ sub });
    for (const topic of ["t1", "t2", "t3"]) {
      expect((await call("PUT", `${BASE}/interest-goals/${topic}`, { token: learner, body: { interestLevel: 0.5 } })).status).toBe(201);
    }
    const first = await call<z.infer<typeof GoalPage>>("GET", `${BASE}/interest-goals?limit=2`, { token: learner });
    expect(first.body.items.map((g) => g.topicId)).toEqual(["t3", "t2"]);
    await oneTrip(first);
    const second = await call<z.infer<typeof GoalPage>>("GET", `${BASE}/interest-goals?limit=2&cursor=${first.body.nextCursor}`, { token: learner });
    expect(second.body.items.map((g) => g.topicId)).toEqual(["t1"]);
    expect(second.body.nextCursor).toBeNull();
    await expectCursorRefused(`${BASE}/interest-goals?limit=2`, learner, first.body.nextCursor!, 0, "epoch");

    // Another learner neither sees nor sets them; an unrelated teacher sees nothing.
    const other = await token();
    expect((await call("GET", `${BASE}/interest-goals?userId=${sub}`, { token: other })).body.items).toEqual([]);
    expectProblem(await call("PUT", `${BASE}/interest-goals/t1`, { token: other, body: { userId: sub, interestLevel: 0 } }), 403, "forbidden");
    const stranger = await token({ roles: ["teacher"], tenant_id: String(org()) });
    expect((await call("GET", `${BASE}/interest-goals?userId=${sub}`, { token: stranger })).body.items).toEqual([]);

    // The learner's teacher reads them (read only); an admin reads and sets them.
    const teacher = await teacherOf(sub);
    expect((await call("GET", `${BASE}/interest-goals?userId=${sub}`, { token: teacher })).body.items).toHaveLength(3);
    expectProblem(await call("PUT", `${BASE}/interest-goals/t1`, { token: teacher, body: { userId: sub, interestLevel: 0 } }), 403, "forbidden");
    const admin = await token({ roles: ["admin"] });
    const set = await call<InterestGoal>("PUT", `${BASE}/interest-goals/t9`, { token: admin, body: { userId: sub, interestLevel: 0.9 } });
    expect(set.status).toBe(201);
    expect(set.body.userId).toBe(sub);
  });
});

describe("seedtest daily topic features", () => {
  it("are upserted by (user, topic, date) by admins only", async () => {
    const sub = crypto.randomUUID();
    const admin = await token({ roles: ["admin"] });
    const path = `${BASE}/features/${sub}/algebra/2026-11-20`;
    const created = await call<DailyFeatures>("PUT", path, { token: admin, body: { features: { accuracy: 0.5, attempts: 4 } } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ userId: sub, topicId: "algebra", date: "2026-11-20", features: { accuracy: 0.5, attempts: 4 } });
    await oneTrip(created);
    const replaced = await call<DailyFeatures>("PUT", path, { token: admin, body: { features: { accuracy: 0.75, attempts: 8 } } });
    expect(replaced.status).toBe(200);
    expect(replaced.body.features).toEqual({ accuracy: 0.75, attempts: 8 });
    expect(replaced.body.createdAt).toBe(created.body.createdAt);
    await oneTrip(replaced);

    // Features are computed, not self-reported: the learner may not write even their own.
    const learner = await token({ sub });
    const own = await call("PUT", path, { token: learner, body: { features: { accuracy: 1 } } });
    expectProblem(own, 403, "forbidden");
    await oneTrip(own);
    expectProblem(await call("PUT", `${BASE}/features/${sub}/algebra/2026-02-30`, { token: admin, body: { features: {} } }), 422, "validation_failed");
    expectProblem(await call("PUT", path, { token: admin, body: { features: [1, 2] } }), 422, "validation_failed");
    expect((await call("GET", `${BASE}/features`, { token: learner })).body.items[0].features).toEqual({ accuracy: 0.75, attempts: 8 });
  });

  it("are queried by user or by topic over a date range, newest first, a page at a time", async () => {
    const sub = crypto.randomUUID();
    const otherSub = crypto.randomUUID();
    const topic = `topic-${crypto.randomUUID()}`;
    const admin = await token({ roles: ["admin"] });
    const put = (user: string, t: string, date: string) =>
      call<DailyFeatures>("PUT", `${BASE}/features/${user}/${t}/${date}`, { token: admin, body: { features: { attempts: 1 } } });
    for (const date of ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-05"]) expect((await put(sub, topic, date)).status).toBe(201);
    await put(sub, "geometry", "2026-11-03");
    await put(otherSub, topic, "2026-11-03");
    const key = (r: DailyFeatures) => `${r.userId === sub ? "me" : "other"}/${r.topicId === topic ? "t" : r.topicId}/${r.date}`;

    const learner = await token({ sub });
    const mine = await call<z.infer<typeof FeaturesPage>>("GET", `${BASE}/features?from=2026-11-02&to=2026-11-05&limit=2`, { token: learner });
    expect(mine.body.items.map(key)).toEqual(["me/t/2026-11-05", "me/t/2026-11-03"]);
    await oneTrip(mine);
    const mineNext = await call<z.infer<typeof FeaturesPage>>("GET", `${BASE}/features?from=2026-11-02&to=2026-11-05&limit=2&cursor=${mine.body.nextCursor}`, { token: learner });
    expect(mineNext.body.items.map(key)).toEqual(["me/geometry/2026-11-03", "me/t/2026-11-02"]);
    expect(mineNext.body.nextCursor).toBeNull();
    await expectCursorRefused(`${BASE}/features?from=2026-11-02&to=2026-11-05&limit=2`, learner, mine.body.nextCursor!, 0, "today");

    const byTopic = await call<z.infer<typeof FeaturesPage>>("GET", `${BASE}/features?topicId=${topic}&from=2026-11-03&to=2026-11-03`, { token: admin });
    expect(byTopic.body.items.map(key).sort()).toEqual(["me/t/2026-11-03", "other/t/2026-11-03"]);
    await oneTrip(byTopic);
    // The learner asking by topic still sees only their own rows.
    expect((await call("GET", `${BASE}/features?topicId=${topic}&from=2026-11-03&to=2026-11-03`, { token: learner })).body.items.map(key)).toEqual(["me/t/2026-11-03"]);
    const teacher = await teacherOf(otherSub);
    expect((await call("GET", `${BASE}/features?topicId=${topic}`, { token: teacher })).body.items.map(key)).toEqual(["other/t/2026-11-03"]);

    expectProblem(await call("GET", `${BASE}/features?from=2026-11-05&to=2026-11-01`, { token: learner }), 422, "validation_failed");
    expectProblem(await call("GET", `${BASE}/features?from=2026-13-01`, { token: learner }), 422, "validation_failed");
  });
});
