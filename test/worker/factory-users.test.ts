import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditLogs } from "../../src/factory/schema";
import { runAs } from "../../src/platform/db";
import { userIdFor } from "../../src/platform/user-id";
import { call, expectProblem, roundTrips, testEnv, token } from "./helpers";
import { as, bearerOf, createdTenant, db, seedUser } from "./factory-helpers";

const one = async (requestId: string) => expect((await roundTrips(requestId)).neon).toBe(1);
const newUser = (role: string, extra: Record<string, unknown> = {}) => {
  const subject = crypto.randomUUID();
  return { subject, email: `${subject}@Factory.test`, username: `u-${subject.slice(0, 8)}`, role, ...extra };
};

describe("factory users", () => {
  it("provisions a user whose tokens then work, keyed by the subject as tokens map it; audited", async () => {
    const { tenantId, admin } = await createdTenant();
    const created = await call("POST", "/api/v1/factory/users", { token: admin.bearer, body: newUser("operator", { permissions: ["rule:read"], metadata: { line_access: ["L01"] } }) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ tenantId, role: "operator", permissions: ["rule:read"], status: "active", metadata: { line_access: ["L01"] } });
    expect(created.body.email).toBe(created.body.email.toLowerCase());
    await one(created.requestId);
    const me = await call("GET", "/api/v1/factory/me", { token: await bearerOf(tenantId, created.body.id) });
    expect(me.body.permissions).toEqual(["judgment:read", "judgment:execute", "workflow:read", "workflow:execute", "bi:read", "rule:read"]);

    // A subject that is no UUID maps to the UUIDv5 its tokens carry.
    const subject = `auth0|${crypto.randomUUID()}`;
    const mapped = await call("POST", "/api/v1/factory/users", { token: admin.bearer, body: { ...newUser("viewer"), subject } });
    expect(mapped.body.id).toBe(await userIdFor(testEnv.API_JWT_ISSUER!, subject));
    expect((await call("GET", "/api/v1/factory/me", { token: await token({ sub: subject, tenant_id: tenantId }) })).status).toBe(200);

    const [rows] = await runAs(db, as(tenantId, admin.userId), [
      db.select().from(auditLogs).where(and(eq(auditLogs.tenantId, tenantId), eq(auditLogs.resourceId, created.body.id))),
    ] as const);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: "create", resourceType: "user", actorId: admin.userId, beforeState: null, traceId: created.requestId });
    expect(rows[0]!.afterState).toMatchObject({ role: "operator", permissions: ["rule:read"] });

    expectProblem(await call("POST", "/api/v1/factory/users", { token: admin.bearer, body: { ...newUser("viewer"), email: created.body.email } }), 409, "unique_violation");
    expectProblem(await call("POST", "/api/v1/factory/users", { token: admin.bearer, body: newUser("operator", { permissions: ["rule"] }) }), 422, "validation_failed");
    expectProblem(await call("POST", "/api/v1/factory/users", { token: admin.bearer, body: newUser("superuser") }), 422, "validation_failed");
  });

  it("holds max_users exactly: N + k concurrent provisions at N free seats, exactly N pass", async () => {
    const { tenantId, admin } = await createdTenant({ maxUsers: 4 });
    const results = await Promise.all(Array.from({ length: 7 }, () => call("POST", "/api/v1/factory/users", { token: admin.bearer, body: newUser("viewer") })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(3);
    const refused = results.filter((r) => r.status !== 201);
    expect(refused).toHaveLength(4);
    for (const r of refused) expectProblem(r, 409, "max_users_reached");
    expect(refused[0]!.body).toMatchObject({ maxUsers: 4, seatsInUse: 4 });

    // An inactive user frees their seat; taking it back needs a free one.
    const someone = results.find((r) => r.status === 201)!.body.id;
    const off = await call("PATCH", `/api/v1/factory/users/${someone}`, { token: admin.bearer, body: { status: "inactive" } });
    expect(off.body.status).toBe("inactive");
    await one(off.requestId);
    expect((await call("POST", "/api/v1/factory/users", { token: admin.bearer, body: newUser("viewer") })).status).toBe(201);
    const back = await call("PATCH", `/api/v1/factory/users/${someone}`, { token: admin.bearer, body: { status: "active" } });
    expectProblem(back, 409, "max_users_reached");
    await one(back.requestId);
    const list = await call("GET", `/api/v1/factory/users?status=inactive`, { token: admin.bearer });
    expect(list.body.items.map((u: { id: string }) => u.id)).toEqual([someone]);
    expect(tenantId).toBeTruthy();
  });

  it("lists in pages, reads one, and keeps other tenants' users out of sight", async () => {
    const { tenantId, admin } = await createdTenant();
    for (const role of ["viewer", "operator", "approver"]) await seedUser(tenantId, role as "viewer");
    const first = await call("GET", "/api/v1/factory/users?limit=2", { token: admin.bearer });
    expect(first.body.items).toHaveLength(2);
    await one(first.requestId);
    const second = await call("GET", `/api/v1/factory/users?limit=2&cursor=${first.body.nextCursor}`, { token: admin.bearer });
    expect(second.body.items).toHaveLength(2);
    expect(second.body.nextCursor).toBeNull();
    expect(new Set([...first.body.items, ...second.body.items].map((u: { id: string }) => u.id)).size).toBe(4);
    const operators = await call("GET", "/api/v1/factory/users?role=operator", { token: admin.bearer });
    expect(operators.body.items.map((u: { role: string }) => u.role)).toEqual(["operator"]);

    const got = await call("GET", `/api/v1/factory/users/${admin.userId}`, { token: admin.bearer });
    expect(got.body).toMatchObject({ id: admin.userId, role: "admin" });
    await one(got.requestId);
    const other = await createdTenant();
    const hidden = await call("GET", `/api/v1/factory/users/${admin.userId}`, { token: other.admin.bearer });
    expectProblem(hidden, 404, "not_found");
    await one(hidden.requestId);
  });

  it("changes role and permissions with the diff audited; an admin cannot demote or lock themselves", async () => {
    const { tenantId, admin } = await createdTenant();
    const viewer = await seedUser(tenantId, "viewer");
    const changed = await call("PATCH", `/api/v1/factory/users/${viewer.userId}`, { token: admin.bearer, body: { role: "approver", permissions: ["audit:read"] } });
    expect(changed.body).toMatchObject({ role: "approver", permissions: ["audit:read"] });
    await one(changed.requestId);
    const [rows] = await runAs(db, as(tenantId, admin.userId), [
      db.select().from(auditLogs).where(and(eq(auditLogs.resourceId, viewer.userId), eq(auditLogs.action, "update"))),
    ] as const);
    expect(rows[0]!.diff).toEqual(
      expect.arrayContaining([
        { op: "replace", path: "/role", value: "approver" },
        { op: "replace", path: "/permissions", value: ["audit:read"] },
      ]),
    );
    // The widened permission takes effect at once.
    expect((await call("GET", "/api/v1/factory/audit-logs", { token: viewer.bearer })).status).toBe(200);

    expectProblem(await call("PATCH", `/api/v1/factory/users/${admin.userId}`, { token: admin.bearer, body: { role: "viewer" } }), 409, "own_account");
    expectProblem(await call("POST", `/api/v1/factory/users/${admin.userId}/lock`, { token: admin.bearer }), 409, "own_account");
    expectProblem(await call("PATCH", `/api/v1/factory/users/${crypto.randomUUID()}`, { token: admin.bearer, body: { role: "viewer" } }), 404, "not_found");
    expectProblem(await call("PATCH", `/api/v1/factory/users/${viewer.userId}`, { token: admin.bearer, body: {} }), 422, "validation_failed");
  });

  it("locks an active user, whose next request is a 403 user_locked; locking again is a 409", async () => {
    const { tenantId, admin } = await createdTenant();
    const operator = await seedUser(tenantId, "operator");
    expect((await call("GET", "/api/v1/factory/me", { token: operator.bearer })).status).toBe(200);
    const locked = await call("POST", `/api/v1/factory/users/${operator.userId}/lock`, { token: admin.bearer });
    expect(locked.body.status).toBe("locked");
    await one(locked.requestId);
    expectProblem(await call("GET", "/api/v1/factory/me", { token: operator.bearer }), 403, "user_locked");
    const again = await call("POST", `/api/v1/factory/users/${operator.userId}/lock`, { token: admin.bearer });
    expectProblem(again, 409, "invalid_state");
    expect(again.body.currentStatus).toBe("locked");
    await one(again.requestId);
    expectProblem(await call("POST", `/api/v1/factory/users/${crypto.randomUUID()}/lock`, { token: admin.bearer }), 404, "not_found");
    // Unlocking is a status change.
    expect((await call("PATCH", `/api/v1/factory/users/${operator.userId}`, { token: admin.bearer, body: { status: "active" } })).body.status).toBe("active");
    expect((await call("GET", "/api/v1/factory/me", { token: operator.bearer })).status).toBe(200);
  });

  it("refuses users without the user permissions, naming it", async () => {
    const { tenantId } = await createdTenant();
    const approver = await seedUser(tenantId, "approver");
    const res = await call("POST", "/api/v1/factory/users", { token: approver.bearer, body: newUser("viewer") });
    expectProblem(res, 403, "permission_missing");
    expect(res.body).toMatchObject({ permission: "user:write", detail: "the user:write permission is required (role approver does not grant it)" });
    await one(res.requestId);
    const widened = await seedUser(tenantId, "viewer", { permissions: ["user:*"] });
    expect((await call("GET", "/api/v1/factory/users", { token: widened.bearer })).status).toBe(200);
  });
});
