import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import worker from "../../functions/worker";
import { SERVICE_PRINCIPAL } from "../../src/agent/jobs";
import { executionResults, organizations, plans, todos, toolExecutions, usageMetrics } from "../../src/agent/schema";
import { runAs } from "../../src/platform/db";
import { EVERY_MINUTE } from "../../src/platform/system";
import { call, expectProblem, roundTrips, testEnv } from "./helpers";
import { as, db, organization, provisioned } from "./agent-helpers";

async function everyMinute() {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: EVERY_MINUTE, scheduledTime: Date.now() }), testEnv as never, ctx);
  await waitOnExecutionContext(ctx);
}

/** A session of `userId` with a plan of two todos, two results (one failed) and three tool runs, one outside any session. */
async function seedWork(orgId: string, bearer: string) {
  const session = await call("POST", "/api/v1/agent/sessions", { token: bearer, body: {} });
  expect(session.status).toBe(201);
  const sessionId: string = session.body.id;
  const [[plan]] = await runAs(db, SERVICE_PRINCIPAL, [db.insert(plans).values({ sessionId, organizationId: orgId }).returning()] as const);
  const [made] = await runAs(db, SERVICE_PRINCIPAL, [
    db.insert(todos).values([0, 1].map((i) => ({ planId: plan!.id, title: `t${i}`, layer: "data", organizationId: orgId }))).returning(),
  ] as const);
  const now = new Date();
  await runAs(db, SERVICE_PRINCIPAL, [
    db.insert(executionResults).values(
      made.map((t, i) => ({ todoId: t.id, planId: plan!.id, sessionId, success: i === 0, executionTimeMs: 1000, startedAt: now, completedAt: now, apiCallsCount: 3 + i, organizationId: orgId })),
    ),
    db.insert(toolExecutions).values([
      { toolName: "sql_query", sessionId, todoId: made[0]!.id, success: true, startedAt: now, tokensUsed: 100, executionTimeMs: 1200, organizationId: orgId },
      { toolName: "sql_query", sessionId, todoId: made[1]!.id, success: false, startedAt: now, tokensUsed: 50, executionTimeMs: 800, organizationId: orgId },
      { toolName: "sql_query", success: true, startedAt: now, tokensUsed: 7, executionTimeMs: 10, organizationId: orgId },
    ]),
  ] as const);
  return { sessionId, planId: plan!.id };
}

const hourNow = () => new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);

describe("agent usage metrics (hourly rollups) and the usage report", () => {
  it("rolls the six metrics up per organization, user and hour, idempotently, and reports them to admins", async () => {
    const { orgId, admin } = await organization();
    const user = await provisioned(orgId, admin);
    await seedWork(orgId, user.bearer);
    await everyMinute();
    const read = () => runAs(db, SERVICE_PRINCIPAL, [db.select().from(usageMetrics).where(eq(usageMetrics.organizationId, orgId))] as const).then(([r]) => r);
    const first = await read();
    await everyMinute();
    const second = await read();
    expect(second.map((r) => r.id).sort()).toEqual(first.map((r) => r.id).sort());

    const value = (type: string, userId: string | null) => second.find((r) => r.metricType === type && r.userId === userId)?.metricValue;
    expect(value("token_usage", user.userId)).toBe("150.0000");
    expect(value("token_usage", null)).toBe("7.0000");
    expect(value("execution_time", user.userId)).toBe("2000.0000");
    expect(value("api_calls", user.userId)).toBe("7.0000");
    expect(value("success_rate", user.userId)).toBe("50.0000");
    expect(value("plan_count", user.userId)).toBe("1.0000");
    expect(value("todo_count", user.userId)).toBe("2.0000");
    for (const r of second) {
      expect(r.periodStart!.getTime()).toBe(hourNow().getTime());
      expect(r.periodEnd!.getTime() - r.periodStart!.getTime()).toBe(3_600_000);
    }

    const from = hourNow().toISOString();
    const to = new Date(hourNow().getTime() + 3_600_000).toISOString();
    const res = await call("GET", `/api/v1/agent/usage?from=${from}&to=${to}`, { token: admin.bearer });
    expect(res.status).toBe(200);
    expect(await roundTrips(res.requestId)).toMatchObject({ neon: 1 });
    const byType = Object.fromEntries(res.body.metrics.map((m: { metricType: string }) => [m.metricType, m]));
    expect(Object.keys(byType).sort()).toEqual(["api_calls", "execution_time", "plan_count", "success_rate", "todo_count", "token_usage"]);
    expect(byType.token_usage.total).toBe(157);
    expect(byType.token_usage.byUser).toEqual([
      { userId: user.userId, value: 150 },
      { userId: null, value: 7 },
    ]);
    expect(byType.token_usage.hourly).toEqual([{ periodStart: from, value: 157 }]);
    expect(byType.success_rate.total).toBe(50);

    const one = await call("GET", `/api/v1/agent/usage?from=${from}&to=${to}&metric=plan_count`, { token: admin.bearer });
    expect(one.body.metrics.map((m: { metricType: string }) => m.metricType)).toEqual(["plan_count"]);
    const earlier = await call("GET", `/api/v1/agent/usage?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z`, { token: admin.bearer });
    expect(earlier.body.metrics).toEqual([]);
  });

  it("is for admins only, in the code and in row-level security, and refuses bad ranges naming the field", async () => {
    const { orgId, admin } = await organization();
    const user = await provisioned(orgId, admin);
    const manager = await provisioned(orgId, admin, ["manager"]);
    await seedWork(orgId, user.bearer);
    await everyMinute();
    const q = `from=${hourNow().toISOString()}&to=${new Date(Date.now() + 3_600_000).toISOString()}`;
    for (const caller of [user, manager]) {
      expectProblem(await call("GET", `/api/v1/agent/usage?${q}`, { token: caller.bearer }), 403, "agent_role_required");
    }
    const visible = async (orgOf: string, userId: string, roles: string[]) =>
      (await runAs(db, as(orgOf, userId, roles), [db.select().from(usageMetrics).where(eq(usageMetrics.organizationId, orgId))] as const))[0].length;
    expect(await visible(orgId, admin.userId, ["admin"])).toBeGreaterThan(0);
    expect(await visible(orgId, manager.userId, ["manager"])).toBe(0);
    expect(await visible(orgId, user.userId, [])).toBe(0);
    const other = await organization();
    expect(await visible(other.orgId, other.admin.userId, ["admin"])).toBe(0);
    await expect(
      runAs(db, as(orgId, admin.userId, ["admin"]), [db.insert(usageMetrics).values({ organizationId: orgId, metricType: "api_calls", metricValue: "1" })] as const),
    ).rejects.toThrow();

    const backwards = await call("GET", "/api/v1/agent/usage?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", { token: admin.bearer });
    expectProblem(backwards, 422, "validation_failed");
    expect(backwards.body.errors[0].path).toBe("query.to");
    const tooLong = await call("GET", "/api/v1/agent/usage?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", { token: admin.bearer });
    expectProblem(tooLong, 422, "validation_failed");
    expect(tooLong.body.errors[0].path).toBe("query.to");
    expectProblem(await call("GET", "/api/v1/agent/usage?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&metric=bogus", { token: admin.bearer }), 422, "validation_failed");
  });
});

describe("agent monthly tokens", () => {
  it("are reset by the every-minute cron once a new UTC month begins, exactly once, and shown with the daily figures", async () => {
    const { orgId, admin } = await organization({ maxMonthlyTokens: 10_000, maxDailyRequests: 500 });
    await runAs(db, SERVICE_PRINCIPAL, [
      db.update(organizations).set({ currentMonthTokens: 9_000, tokensMonth: sql`(date_trunc('month', now() at time zone 'utc') - interval '1 month')::date` }).where(eq(organizations.id, orgId)),
    ] as const);
    await everyMinute();
    const thisMonth = new Date().toISOString().slice(0, 8) + "01";
    const figures = await call("GET", "/api/v1/agent/usage/quota", { token: admin.bearer });
    expect(figures.status).toBe(200);
    expect(await roundTrips(figures.requestId)).toMatchObject({ neon: 1 });
    expect(figures.body.monthlyTokens).toMatchObject({ limit: 10_000, used: 0, month: thisMonth });
    const now = new Date();
    expect(figures.body.monthlyTokens.resetsAt).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString());
    expect(figures.body.dailyRequests.limit).toBe(500);
    expect(figures.body.dailyRequests.used).toBeGreaterThanOrEqual(2);

    // Tokens spent after the reset survive the next runs.
    await runAs(db, SERVICE_PRINCIPAL, [db.update(organizations).set({ currentMonthTokens: 70 }).where(and(eq(organizations.id, orgId)))] as const);
    await everyMinute();
    const again = await call("GET", "/api/v1/agent/usage/quota", { token: admin.bearer });
    expect(again.body.monthlyTokens.used).toBe(70);
    expect(again.body.dailyRequests.used).toBe(figures.body.dailyRequests.used + 1);
  });
});
