import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { SERVICE_PRINCIPAL } from "../../src/agent/jobs";
import { feedback, plans } from "../../src/agent/schema";
import { runAs } from "../../src/platform/db";
import { call, expectProblem, roundTrips } from "./helpers";
import { as, db, member, organization, provisioned, type Member } from "./agent-helpers";

const give = (who: Member, body: unknown) => call("POST", "/api/v1/agent/feedback", { token: who.bearer, body });

async function sessionWithPlan(orgId: string, owner: Member) {
  const session = await call("POST", "/api/v1/agent/sessions", { token: owner.bearer, body: {} });
  expect(session.status).toBe(201);
  const [[plan]] = await runAs(db, SERVICE_PRINCIPAL, [db.insert(plans).values({ sessionId: session.body.id, organizationId: orgId }).returning()] as const);
  return { sessionId: session.body.id as string, planId: plan!.id };
}

describe("agent feedback (§6.2)", () => {
  it("is given on a session or a plan, listed by its author, and summed up per plan for managers and admins", async () => {
    const { orgId, admin } = await organization();
    const user = await provisioned(orgId, admin);
    const peer = await provisioned(orgId, admin);
    const manager = await provisioned(orgId, admin, ["manager"]);
    const { sessionId, planId } = await sessionWithPlan(orgId, user);

    const onSession = await give(user, { sessionId, rating: 4, feedbackType: "result_quality", comment: "good", contextData: { step: 2 } });
    expect(onSession.status).toBe(201);
    expect(await roundTrips(onSession.requestId)).toMatchObject({ neon: 1 });
    expect(onSession.body).toMatchObject({ sessionId, planId: null, userId: user.userId, rating: 4, feedbackType: "result_quality", comment: "good", contextData: { step: 2 }, organizationId: orgId });
    const onPlan = await give(user, { planId, rating: 2, feedbackType: "plan_quality" });
    expect(onPlan.status).toBe(201);
    expect(onPlan.body).toMatchObject({ sessionId, planId, rating: 2 });
    expect((await give(peer, { planId, sessionId, rating: 5, feedbackType: "plan_quality" })).status).toBe(201);
    expect((await give(manager, { planId, rating: 3, feedbackType: "speed" })).status).toBe(201);

    const mine = await call("GET", "/api/v1/agent/feedback?limit=1", { token: user.bearer });
    expect(await roundTrips(mine.requestId)).toMatchObject({ neon: 1 });
    expect(mine.body.items.map((f: { id: string }) => f.id)).toEqual([onPlan.body.id]);
    const next = await call("GET", `/api/v1/agent/feedback?limit=1&cursor=${mine.body.nextCursor}`, { token: user.bearer });
    expect(next.body.items.map((f: { id: string }) => f.id)).toEqual([onSession.body.id]);
    expect(next.body.nextCursor).toBeNull();
    const onThePlan = await call("GET", `/api/v1/agent/feedback?planId=${planId}`, { token: user.bearer });
    expect(onThePlan.body.items.map((f: { id: string }) => f.id)).toEqual([onPlan.body.id]);

    for (const reader of [manager, admin]) {
      const res = await call("GET", `/api/v1/agent/feedback/plans/${planId}`, { token: reader.bearer });
      expect(res.status).toBe(200);
      expect(await roundTrips(res.requestId)).toMatchObject({ neon: 1 });
      expect(res.body).toEqual({
        planId,
        count: 3,
        averageRating: 3.33,
        ratings: { 1: 0, 2: 1, 3: 1, 4: 0, 5: 1 },
        byType: [
          { feedbackType: "plan_quality", count: 2, averageRating: 3.5 },
          { feedbackType: "speed", count: 1, averageRating: 3 },
        ],
      });
    }
    expectProblem(await call("GET", `/api/v1/agent/feedback/plans/${planId}`, { token: user.bearer }), 403, "agent_role_required");
    expectProblem(await call("GET", `/api/v1/agent/feedback/plans/${crypto.randomUUID()}`, { token: manager.bearer }), 404, "not_found");
    const other = await organization();
    expectProblem(await call("GET", `/api/v1/agent/feedback/plans/${planId}`, { token: other.admin.bearer }), 404, "not_found");
  });

  it("refuses bad input naming the field, and writes nothing", async () => {
    const { orgId, admin } = await organization();
    const user = await provisioned(orgId, admin);
    const viewer = await provisioned(orgId, admin, ["viewer"]);
    const { sessionId, planId } = await sessionWithPlan(orgId, user);
    const other = await sessionWithPlan(orgId, user);
    const field = async (body: unknown, status: number, code: string, path: string) => {
      const res = await give(user, body);
      expectProblem(res, status, code);
      expect(res.body.errors?.[0]?.path ?? res.body.field).toBe(path);
    };
    await field({ sessionId, rating: 6, feedbackType: "x" }, 422, "validation_failed", "json.rating");
    await field({ sessionId, rating: 0, feedbackType: "x" }, 422, "validation_failed", "json.rating");
    await field({ sessionId, rating: 3, feedbackType: "Bad Type" }, 422, "validation_failed", "json.feedbackType");
    await field({ rating: 3, feedbackType: "x" }, 422, "validation_failed", "json.sessionId");
    await field({ planId, sessionId: other.sessionId, rating: 3, feedbackType: "x" }, 422, "validation_failed", "json.planId");
    await field({ planId: crypto.randomUUID(), rating: 3, feedbackType: "x" }, 404, "not_found", "json.planId");
    await field({ sessionId: crypto.randomUUID(), rating: 3, feedbackType: "x" }, 404, "not_found", "json.sessionId");
    const foreign = await organization();
    await field({ planId: (await sessionWithPlan(foreign.orgId, foreign.admin)).planId, rating: 3, feedbackType: "x" }, 404, "not_found", "json.planId");
    expectProblem(await give(viewer, { sessionId, rating: 3, feedbackType: "x" }), 403, "agent_role_required");
    expectProblem(await give(await member(orgId), { planId, rating: 3, feedbackType: "x" }), 409, "user_not_provisioned");
    const [written] = await runAs(db, SERVICE_PRINCIPAL, [db.select().from(feedback).where(eq(feedback.organizationId, orgId))] as const);
    expect(written).toHaveLength(0);
  });

  it("row-level security: authors read their own, managers and admins everyone's; nobody writes as someone else", async () => {
    const { orgId, admin } = await organization();
    const user = await provisioned(orgId, admin);
    const peer = await provisioned(orgId, admin);
    const manager = await provisioned(orgId, admin, ["manager"]);
    const viewer = await provisioned(orgId, admin, ["viewer"]);
    const { sessionId, planId } = await sessionWithPlan(orgId, user);
    expect((await give(user, { planId, rating: 5, feedbackType: "x" })).status).toBe(201);
    expect((await give(peer, { planId, rating: 1, feedbackType: "x" })).status).toBe(201);

    const seen = async (who: Member, roles: string[], org = orgId) =>
      (await runAs(db, as(org, who.userId, roles), [db.select().from(feedback).where(eq(feedback.planId, planId))] as const))[0].map((f) => f.userId).sort();
    expect(await seen(user, [])).toEqual([user.userId]);
    expect(await seen(viewer, ["viewer"])).toEqual([]);
    expect(await seen(manager, ["manager"])).toEqual([user.userId, peer.userId].sort());
    expect(await seen(admin, ["admin"])).toEqual([user.userId, peer.userId].sort());
    const other = await organization();
    expect(await seen(other.admin, ["admin"], other.orgId)).toEqual([]);

    const row = (userId: string) => ({ sessionId, planId, userId, rating: 3, feedbackType: "x", organizationId: orgId });
    await expect(runAs(db, as(orgId, user.userId), [db.insert(feedback).values(row(peer.userId))] as const)).rejects.toThrow();
    await expect(runAs(db, as(orgId, viewer.userId, ["viewer"]), [db.insert(feedback).values(row(viewer.userId))] as const)).rejects.toThrow();
    await expect(runAs(db, as(other.orgId, other.admin.userId, ["admin"]), [db.insert(feedback).values(row(other.admin.userId))] as const)).rejects.toThrow();
    const [changed] = await runAs(db, as(orgId, manager.userId, ["manager"]), [db.update(feedback).set({ rating: 1 }).where(eq(feedback.planId, planId)).returning()] as const);
    expect(changed).toHaveLength(0);
    const [own] = await runAs(db, as(orgId, user.userId), [db.insert(feedback).values(row(user.userId)).returning()] as const);
    expect(own).toHaveLength(1);
  });
});
