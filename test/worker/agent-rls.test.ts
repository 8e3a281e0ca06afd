import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { organizations, plans, sessions, tools, usageMetrics, users } from "../../src/agent/schema";
import { runAs } from "../../src/platform/db";
import { call } from "./helpers";
import { as, db, organization, provisioned } from "./agent-helpers";

/** Row-level security of migration 0010, straight as app_api: the routes are not the only guard. */
describe("agent row-level security", () => {
  it("keeps every organization's rows from every other organization, and from callers without identity", async () => {
    const a = await organization();
    const b = await organization();
    const user = await provisioned(a.orgId, a.admin);
    const { body: s } = await call("POST", "/api/v1/agent/sessions", { token: user.bearer });

    const look = (who: ReturnType<typeof as> | null) =>
      runAs(db, who, [
        db.select({ id: organizations.id }).from(organizations).where(eq(organizations.id, a.orgId)),
        db.select({ id: users.id }).from(users).where(eq(users.organizationId, a.orgId)),
        db.select({ id: sessions.id }).from(sessions).where(eq(sessions.id, s.id)),
      ] as const);
    expect((await look(as(a.orgId, a.admin.userId, ["admin"]))).map((r) => r.length)).toEqual([1, 2, 1]);
    expect((await look(as(b.orgId, b.admin.userId, ["admin"]))).map((r) => r.length)).toEqual([0, 0, 0]);
    expect((await look(null)).map((r) => r.length)).toEqual([0, 0, 0]);
    // A tenant that is not an organization id belongs to no organization (and is no error).
    expect((await look(as("12345", user.userId, []))).map((r) => r.length)).toEqual([0, 0, 0]);

    // Writing into another organization is refused by WITH CHECK.
    await expect(
      runAs(db, as(b.orgId, b.admin.userId, ["admin"]), [db.insert(plans).values({ sessionId: s.id, organizationId: a.orgId })] as const),
    ).rejects.toMatchObject({ code: "42501" });
    await expect(
      runAs(db, as(b.orgId, b.admin.userId, ["admin"]), [
        db.insert(sessions).values({ userId: b.admin.userId, organizationId: a.orgId }),
      ] as const),
    ).rejects.toMatchObject({ code: "42501" });
  });

  it("applies the agent roles: users read their own sessions, viewers write nothing, only operators create organizations", async () => {
    const { orgId, admin } = await organization();
    const owner = await provisioned(orgId, admin);
    const peer = await provisioned(orgId, admin);
    const viewer = await provisioned(orgId, admin, ["viewer"]);
    const { body: s } = await call("POST", "/api/v1/agent/sessions", { token: owner.bearer });
    const seen = async (who: ReturnType<typeof as>) => (await runAs(db, who, [db.select().from(sessions).where(eq(sessions.id, s.id))] as const))[0].length;
    expect(await seen(as(orgId, peer.userId))).toBe(0);
    expect(await seen(as(orgId, peer.userId, ["user"]))).toBe(0);
    expect(await seen(as(orgId, viewer.userId, ["viewer"]))).toBe(1);
    expect(await seen(as(orgId, peer.userId, ["manager"]))).toBe(1);

    const touch = (who: ReturnType<typeof as>) =>
      runAs(db, who, [db.update(sessions).set({ status: "error" }).where(eq(sessions.id, s.id)).returning({ id: sessions.id })] as const);
    expect((await touch(as(orgId, peer.userId, ["manager"])))[0]).toEqual([]);
    expect((await touch(as(orgId, owner.userId, ["viewer"])))[0]).toEqual([]);
    expect((await touch(as(orgId, owner.userId)))[0]).toHaveLength(1);

    await expect(runAs(db, as(orgId, viewer.userId, ["viewer"]), [db.insert(sessions).values({ userId: viewer.userId, organizationId: orgId })] as const)).rejects.toMatchObject({
      code: "42501",
    });
    await expect(runAs(db, as(orgId, admin.userId, ["admin"]), [db.insert(organizations).values({ name: "x" })] as const)).rejects.toMatchObject({ code: "42501" });
    expect((await runAs(db, as(null, crypto.randomUUID(), ["operator"]), [db.insert(organizations).values({ name: "x" }).returning()] as const))[0]).toHaveLength(1);
  });

  it("lets a user change only their own harmless columns; admins change role and status", async () => {
    const { orgId, admin } = await organization();
    const user = await provisioned(orgId, admin);
    const set = (who: ReturnType<typeof as>, change: Partial<typeof users.$inferInsert>) =>
      runAs(db, who, [db.update(users).set(change).where(eq(users.id, user.userId)).returning({ role: users.role })] as const);
    await expect(set(as(orgId, user.userId), { role: "admin" })).rejects.toMatchObject({ code: "42501" });
    await expect(set(as(orgId, user.userId), { isActive: false })).rejects.toMatchObject({ code: "42501" });
    expect((await set(as(orgId, user.userId), { name: "Me" }))[0]).toHaveLength(1);
    expect((await set(as(orgId, admin.userId, ["admin"]), { role: "manager" }))[0]).toEqual([{ role: "manager" }]);
    // Self-provisioning may only claim the token's own role.
    const newcomer = crypto.randomUUID();
    await expect(
      runAs(db, as(orgId, newcomer), [db.insert(users).values({ id: newcomer, email: `${newcomer}@x.test`, organizationId: orgId, role: "admin" })] as const),
    ).rejects.toMatchObject({ code: "42501" });
  });

  it("shares tools without an organization, keeps an organization's own tools to it, and usage to its admins", async () => {
    const a = await organization();
    const b = await organization();
    const name = `tool-${crypto.randomUUID()}`;
    const tool = { name, type: "data" as const, layer: "data", executorClass: "x.Y", parametersSchema: {} };
    await expect(runAs(db, as(a.orgId, a.admin.userId, ["admin"]), [db.insert(tools).values(tool)] as const)).rejects.toMatchObject({ code: "42501" });
    await runAs(db, as(a.orgId, a.admin.userId, ["admin"]), [db.insert(tools).values({ ...tool, organizationId: a.orgId })] as const);
    const visible = async (who: ReturnType<typeof as>) => (await runAs(db, who, [db.select().from(tools).where(eq(tools.name, name))] as const))[0].length;
    expect(await visible(as(a.orgId, a.admin.userId))).toBe(1);
    expect(await visible(as(b.orgId, b.admin.userId, ["admin"]))).toBe(0);

    await expect(
      runAs(db, as(a.orgId, a.admin.userId, ["admin"]), [db.insert(usageMetrics).values({ organizationId: a.orgId, metricType: "api_calls", metricValue: "1" })] as const),
    ).rejects.toMatchObject({ code: "42501" });
    const count = sql<number>`count(*)::int`;
    expect((await runAs(db, as(a.orgId, a.admin.userId, ["user"]), [db.select({ n: count }).from(usageMetrics)] as const))[0][0]!.n).toBe(0);
  });
});
