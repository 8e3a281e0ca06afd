import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import {
  authorizeStatement,
  effectivePermissions,
  permissionGranted,
  refusalOf,
  ROLE_PERMISSIONS,
  tenantOf,
} from "../../src/factory/access";
import { audited, changedRows, type Actor } from "../../src/factory/audit";
import { auditLogs, rulesets, USER_ROLES } from "../../src/factory/schema";
import { runAs } from "../../src/platform/db";
import { ApiError } from "../../src/platform/problem";
import { traceIdOf } from "../../src/platform/request-origin";
import { as, db, seedTenant, seedUser } from "./factory-helpers";

/** The permission contract (src/factory/access.ts, migration 0015) and the audit builder, straight against Postgres. */
describe("factory permissions", () => {
  it("holds the §2.2 matrix once: the code's matrix is the database's", async () => {
    const [rows] = await runAs(db, null, [
      db.execute<{ role: string; permissions: string[] }>(
        sql`select r as role, factory.role_permissions(r) as permissions from unnest(${sql.raw(`array['${[...USER_ROLES, "nobody"].join("','")}']`)}) as r`,
      ),
    ] as const);
    expect(Object.fromEntries(rows.rows.map((r) => [r.role, r.permissions]))).toEqual({ ...ROLE_PERMISSIONS, nobody: [] });
    expect(ROLE_PERMISSIONS.approver).toEqual(["judgment:*", "workflow:read", "approval:*", "rule:approve", "deployment:approve"]);
  });

  it("widens by resource:* and *:* the same way in code and in SQL", async () => {
    const grants = [[], ["*:*"], ["rule:*"], ["rule:approve"], ["judgment:read", "bi:read"], ["rules:*"], ["*:read"]];
    const wanted = ["rule:approve", "rule:write", "judgment:read", "judgment:execute", "rules:write", "audit:read"];
    const cases = grants.flatMap((granted) => wanted.map((permission) => ({ granted, permission })));
    const [result] = await runAs(db, null, [
      db.execute<{ i: number; granted: boolean }>(
        sql`select c.i, factory.permission_granted(c.granted, c.permission) as granted
            from jsonb_to_recordset(${JSON.stringify(cases.map((c, i) => ({ ...c, i })))}::jsonb) as c(i int, granted text[], permission text)
            order by c.i`,
      ),
    ] as const);
    const inSql = result.rows.map((r) => r.granted);
    expect(inSql).toEqual(cases.map((c) => permissionGranted(c.granted, c.permission)));
    // Spot checks: the wildcards the spec names, and nothing else.
    expect(permissionGranted(["rule:*"], "rule:write")).toBe(true);
    expect(permissionGranted(["*:*"], "audit:read")).toBe(true);
    expect(permissionGranted(["rules:*"], "rule:write")).toBe(false);
    expect(permissionGranted(["*:read"], "rule:read")).toBe(false);
    expect(effectivePermissions("viewer", ["rule:read", "bi:read"])).toEqual(["judgment:read", "workflow:read", "bi:read", "mcp:read", "rule:read"]);
  });

  it("refuses each user and tenant state and a missing permission with a reason, in the batch itself", async () => {
    const { tenantId, admin } = await seedTenant();
    const viewer = await seedUser(tenantId, "viewer", { permissions: ["rule:write"] });
    const inactive = await seedUser(tenantId, "operator", { status: "inactive" });
    const locked = await seedUser(tenantId, "operator", { status: "locked" });
    const suspended = await seedTenant({ status: "suspended" });

    const reason = async (tenant: string | null, userId: string, permission: string | null) => {
      try {
        await runAs(db, as(tenant, userId), [authorizeStatement(db, permission)] as const);
        return "allowed";
      } catch (err) {
        const refusal = refusalOf(err);
        if (!refusal) throw err;
        return `${refusal.code}: ${refusal.detail}`;
      }
    };
    expect(await reason(tenantId, admin.userId, "anything:at_all")).toBe("allowed");
    expect(await reason(tenantId, viewer.userId, "judgment:read")).toBe("allowed");
    expect(await reason(tenantId, viewer.userId, "rule:write")).toBe("allowed");
    expect(await reason(tenantId, viewer.userId, "rule:approve")).toBe("permission_missing: the rule:approve permission is required (role viewer does not grant it)");
    expect(await reason(tenantId, inactive.userId, null)).toMatch(/^user_inactive: user operator-\w+ is inactive$/);
    expect(await reason(tenantId, locked.userId, "judgment:read")).toMatch(/^user_locked: user operator-\w+ is locked$/);
    expect(await reason(tenantId, crypto.randomUUID(), null)).toMatch(/^user_unknown: user [0-9a-f-]{36} is not a user of tenant t-/);
    expect(await reason(suspended.tenantId, suspended.admin.userId, null)).toMatch(/^tenant_suspended: tenant t-[0-9a-f-]+ is suspended$/);
    expect(await reason(crypto.randomUUID(), admin.userId, null)).toMatch(/^tenant_unknown: tenant [0-9a-f-]{36} does not exist$/);
    expect(await reason("plant-7", admin.userId, null)).toMatch(/^tenant_unknown: the token names no factory tenant/);
    // A user of one tenant presenting another tenant's id is no user there.
    expect(await reason(suspended.tenantId, admin.userId, null)).toMatch(/^tenant_suspended/);
    expect(await reason((await seedTenant()).tenantId, admin.userId, null)).toMatch(/^user_unknown/);

    // The code's own check says the same before any round trip.
    expect(() => tenantOf(as("plant-7", admin.userId))).toThrow(ApiError);
    expect(tenantOf(as(tenantId.toUpperCase(), admin.userId))).toBe(tenantId);
  });

  it("keeps writers to their resources in row-level security too", async () => {
    const { tenantId, admin } = await seedTenant();
    const viewer = await seedUser(tenantId, "viewer");
    const approver = await seedUser(tenantId, "approver");
    const row = { tenantId, name: `r-${crypto.randomUUID()}`, targetKpi: "defect_rate" };
    await expect(runAs(db, as(tenantId, viewer.userId), [db.insert(rulesets).values(row)] as const)).rejects.toMatchObject({ code: "42501" });
    // approver holds rule:approve: a rule permission other than read.
    expect((await runAs(db, as(tenantId, approver.userId), [db.insert(rulesets).values(row).returning({ id: rulesets.id })] as const))[0]).toHaveLength(1);
    const [seen] = await runAs(db, as(tenantId, viewer.userId), [db.select({ id: rulesets.id }).from(rulesets).where(eq(rulesets.tenantId, tenantId))] as const);
    expect(seen).toHaveLength(1);
    const [changed] = await runAs(db, as(tenantId, viewer.userId), [db.update(rulesets).set({ priority: 1 }).where(eq(rulesets.tenantId, tenantId)).returning()] as const);
    expect(changed).toEqual([]);
    // An inactive admin reads nothing of the tenant.
    const retired = await seedUser(tenantId, "admin", { status: "inactive" });
    const [none] = await runAs(db, as(tenantId, retired.userId), [db.select({ id: rulesets.id }).from(rulesets)] as const);
    expect(none).toEqual([]);
    expect(admin.userId).toBeTruthy();
  });
});

describe("factory audit", () => {
  const origin = { ip: "203.0.113.7", userAgent: "AuditTest/1.0", traceId: "4bf92f3577b34da6a3ce929d0e0e4736" };

  it("writes one audit row per changed row in the change's statement: states, RFC 6902 diff, actor and origin", async () => {
    const { tenantId, admin } = await seedTenant();
    const actor: Actor = { id: admin.userId, type: "user", subject: admin.userId, origin };
    const me = as(tenantId, admin.userId);
    const id = crypto.randomUUID();
    const name = `r-${crypto.randomUUID()}`;

    const [inserted] = await runAs(db, me, [
      audited(db, actor, {
        action: "create",
        resourceType: "ruleset",
        table: rulesets,
        change: db.insert(rulesets).values({ id, tenantId, name, targetKpi: "defect_rate", metadata: { "a/b": 1, keep: true } }).returning(),
      }),
    ] as const);
    const created = changedRows(rulesets, inserted)[0]!;
    expect(created).toMatchObject({ id, name, tenantId, priority: 100, metadata: { "a/b": 1, keep: true } });
    expect(created.createdAt).toBeInstanceOf(Date);

    const [updated] = await runAs(db, me, [
      audited(db, actor, {
        action: "update",
        resourceType: "ruleset",
        table: rulesets,
        where: eq(rulesets.id, id),
        change: db.update(rulesets).set({ priority: 5, metadata: { keep: true, added: "x" } }).where(eq(rulesets.id, id)).returning(),
      }),
    ] as const);
    expect(changedRows(rulesets, updated)[0]).toMatchObject({ priority: 5 });

    await runAs(db, me, [
      audited(db, actor, { action: "delete", resourceType: "ruleset", table: rulesets, where: eq(rulesets.id, id), change: db.delete(rulesets).where(eq(rulesets.id, id)).returning() }),
    ] as const);

    const [rows] = await runAs(db, me, [
      db.select().from(auditLogs).where(and(eq(auditLogs.tenantId, tenantId), eq(auditLogs.resourceId, id))).orderBy(auditLogs.createdAt),
    ] as const);
    const [create, update, remove] = [rows.find((r) => r.action === "create")!, rows.find((r) => r.action === "update")!, rows.find((r) => r.action === "delete")!];
    expect(rows).toHaveLength(3);
    expect(create).toMatchObject({
      actorId: admin.userId,
      actorType: "user",
      actorSubject: admin.userId,
      resourceType: "ruleset",
      beforeState: null,
      ipAddress: "203.0.113.7",
      userAgent: "AuditTest/1.0",
      traceId: origin.traceId,
    });
    expect(create.afterState).toMatchObject({ id, name, priority: 100 });
    expect(create.diff).toEqual([{ op: "add", path: "", value: create.afterState }]);
    expect(update.beforeState).toMatchObject({ priority: 100, metadata: { "a/b": 1, keep: true } });
    expect(update.afterState).toMatchObject({ priority: 5, metadata: { keep: true, added: "x" } });
    // Member by member, RFC 6901 escaping; updated_at moved by the trigger.
    expect(update.diff).toEqual(
      expect.arrayContaining([
        { op: "remove", path: "/metadata/a~1b" },
        { op: "add", path: "/metadata/added", value: "x" },
        { op: "replace", path: "/priority", value: 5 },
      ]),
    );
    expect(update.diff!.map((op) => op.path)).toEqual(["/metadata/a~1b", "/metadata/added", "/priority", "/updated_at"]);
    expect(remove).toMatchObject({ afterState: null, diff: [{ op: "replace", path: "", value: null }] });
    expect(remove.beforeState).toMatchObject({ id, priority: 5 });
  });

  it("leaves no change without its audit row, and no audit row without a change", async () => {
    const { tenantId, admin } = await seedTenant();
    const other = await seedUser(tenantId, "admin");
    const me = as(tenantId, admin.userId);
    const [made] = await runAs(db, me, [db.insert(rulesets).values({ tenantId, name: `r-${crypto.randomUUID()}`, targetKpi: "oee" }).returning()] as const);
    const id = made[0]!.id;
    // An audit row naming someone else as the actor is refused, and the change with it.
    const forged: Actor = { id: other.userId, type: "user", subject: admin.userId, origin };
    await expect(
      runAs(db, me, [
        audited(db, forged, { action: "update", resourceType: "ruleset", table: rulesets, where: eq(rulesets.id, id), change: db.update(rulesets).set({ priority: 7 }).where(eq(rulesets.id, id)).returning() }),
      ] as const),
    ).rejects.toMatchObject({ code: "42501" });
    const [after] = await runAs(db, me, [db.select({ priority: rulesets.priority }).from(rulesets).where(eq(rulesets.id, id))] as const);
    expect(after).toEqual([{ priority: 100 }]);

    // A conditional change that matches nothing records nothing.
    const actor: Actor = { id: admin.userId, type: "user", subject: admin.userId, origin };
    const missed = and(eq(rulesets.id, id), eq(rulesets.isActive, true))!;
    const [none] = await runAs(db, me, [
      audited(db, actor, { action: "update", resourceType: "ruleset", table: rulesets, where: missed, change: db.update(rulesets).set({ priority: 8 }).where(missed).returning() }),
    ] as const);
    expect(none.rows).toEqual([]);
    const [logs] = await runAs(db, me, [db.select({ id: auditLogs.id }).from(auditLogs).where(eq(auditLogs.resourceId, id))] as const);
    expect(logs).toEqual([]);
  });

  it("keeps the audit log to admins, append-only", async () => {
    const { tenantId, admin } = await seedTenant();
    const operator = await seedUser(tenantId, "operator");
    const actor: Actor = { id: admin.userId, type: "user", subject: admin.userId, origin };
    await runAs(db, as(tenantId, admin.userId), [
      audited(db, actor, { action: "create", resourceType: "ruleset", table: rulesets, change: db.insert(rulesets).values({ tenantId, name: "x", targetKpi: "oee" }).returning() }),
    ] as const);
    const read = (userId: string) => runAs(db, as(tenantId, userId), [db.select({ id: auditLogs.id }).from(auditLogs).where(eq(auditLogs.tenantId, tenantId))] as const);
    expect((await read(admin.userId))[0]).toHaveLength(1);
    expect((await read(operator.userId))[0]).toEqual([]);
    const [changed, removed] = await runAs(db, as(tenantId, admin.userId), [
      db.update(auditLogs).set({ action: "forged" }).where(eq(auditLogs.tenantId, tenantId)).returning(),
      db.delete(auditLogs).where(eq(auditLogs.tenantId, tenantId)).returning(),
    ] as const);
    expect([changed, removed]).toEqual([[], []]);
  });
});

describe("trace ids", () => {
  it("takes the W3C traceparent's trace id and refuses malformed or invalid headers", () => {
    expect(traceIdOf("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(traceIdOf("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future")).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(traceIdOf("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra")).toBeNull();
    expect(traceIdOf("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")).toBeNull();
    expect(traceIdOf("00-00000000000000000000000000000000-00f067aa0ba902b7-01")).toBeNull();
    expect(traceIdOf("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")).toBeNull();
    expect(traceIdOf("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")).toBeNull();
    expect(traceIdOf(undefined)).toBeNull();
  });
});
