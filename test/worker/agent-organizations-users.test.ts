import { describe, expect, it } from "vitest";
import { call, expectProblem, roundTrips, token } from "./helpers";
import { member, operator, organization, provisioned } from "./agent-helpers";

describe("agent organizations", () => {
  it("are created by operators only, in one round trip, and read by their members", async () => {
    const refused = await call("POST", "/api/v1/agent/organizations", { token: await token({ roles: ["admin"] }), body: { name: "Nope" } });
    expectProblem(refused, 403, "forbidden");
    const slug = `acme-${crypto.randomUUID().slice(0, 8)}`;
    const created = await call("POST", "/api/v1/agent/organizations", { token: await operator(), body: { name: "Acme", slug, maxUsers: 5 } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "Acme", slug, maxUsers: 5, maxDailyRequests: 1000, maxMonthlyTokens: 1000000, currentMonthTokens: 0, isActive: true });
    expect(await roundTrips(created.requestId)).toMatchObject({ neon: 1 });
    expectProblem(await call("POST", "/api/v1/agent/organizations", { token: await operator(), body: { name: "Twin", slug } }), 409, "unique_violation");
    expectProblem(await call("POST", "/api/v1/agent/organizations", { token: await operator(), body: { name: "Bad", slug: "Not A Slug" } }), 422, "validation_failed");

    const inside = await member(created.body.id);
    const read = await call("GET", `/api/v1/agent/organizations/${created.body.id}`, { token: inside.bearer });
    expect(read.status).toBe(200);
    expect(read.body.id).toBe(created.body.id);
    expect(await roundTrips(read.requestId)).toMatchObject({ neon: 1 });
    const outsider = await member((await organization()).orgId);
    expectProblem(await call("GET", `/api/v1/agent/organizations/${created.body.id}`, { token: outsider.bearer }), 404, "not_found");
  });

  it("are changed (limits included) by their own admins and operators, nobody else", async () => {
    const { orgId, admin } = await organization();
    const changed = await call("PATCH", `/api/v1/agent/organizations/${orgId}`, { token: admin.bearer, body: { maxDailyRequests: 50, settings: { tz: "UTC" } } });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ maxDailyRequests: 50, settings: { tz: "UTC" } });
    expect(await roundTrips(changed.requestId)).toMatchObject({ neon: 1 });
    const manager = await member(orgId, ["manager"]);
    expectProblem(await call("PATCH", `/api/v1/agent/organizations/${orgId}`, { token: manager.bearer, body: { maxUsers: 99 } }), 403, "forbidden");
    const otherAdmin = (await organization()).admin;
    expectProblem(await call("PATCH", `/api/v1/agent/organizations/${orgId}`, { token: otherAdmin.bearer, body: { maxUsers: 99 } }), 404, "not_found");
    const byOperator = await call("PATCH", `/api/v1/agent/organizations/${orgId}`, { token: await operator(), body: { maxUsers: 99 } });
    expect(byOperator.body.maxUsers).toBe(99);
    expectProblem(await call("PATCH", `/api/v1/agent/organizations/${orgId}`, { token: admin.bearer, body: {} }), 422, "validation_failed");
  });
});

describe("agent users", () => {
  it("provision themselves from the token's email, tenant and role", async () => {
    const { orgId } = await organization();
    const manager = await member(orgId, ["manager"]);
    const res = await call("POST", "/api/v1/agent/users/me", { token: manager.bearer, body: { name: "Mia", language: "en" } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: manager.userId, email: manager.email, organizationId: orgId, role: "manager", name: "Mia", language: "en", isActive: true });
    expect(res.body).not.toHaveProperty("apiKeyHash");
    expect(await roundTrips(res.requestId)).toMatchObject({ neon: 1 });
    expectProblem(await call("POST", "/api/v1/agent/users/me", { token: manager.bearer }), 409, "unique_violation");
    const me = await call("GET", "/api/v1/agent/users/me", { token: manager.bearer });
    expect(me.body.role).toBe("manager");

    const noEmail = await token({ tenant_id: orgId });
    const refused = await call("POST", "/api/v1/agent/users/me", { token: noEmail });
    expectProblem(refused, 422, "validation_failed");
    expect(refused.body.errors[0].path).toBe("token.email");
    expectProblem(await call("POST", "/api/v1/agent/users/me", { token: (await member(crypto.randomUUID())).bearer }), 404, "not_found");
    expectProblem(await call("GET", "/api/v1/agent/users/me", { token: noEmail }), 404, "not_found");
  });

  it("are provisioned by admins only, up to max_users active users, exactly under concurrency", async () => {
    const { orgId, admin } = await organization({ maxUsers: 4 });
    const user = await provisioned(orgId, admin);
    const asUser = await call("POST", "/api/v1/agent/users", { token: user.bearer, body: { id: crypto.randomUUID(), email: `${crypto.randomUUID()}@x.test` } });
    expectProblem(asUser, 403, "agent_role_required");

    // Two seats left (admin and user hold two of four); five concurrent provisions: exactly two pass.
    const attempts = await Promise.all(
      Array.from({ length: 5 }, () => call("POST", "/api/v1/agent/users", { token: admin.bearer, body: { id: crypto.randomUUID(), email: `${crypto.randomUUID()}@x.test`, role: "viewer" } })),
    );
    expect(attempts.filter((r) => r.status === 201)).toHaveLength(2);
    for (const r of attempts.filter((r) => r.status !== 201)) expectProblem(r, 409, "max_users_reached");
    // Provisioning, admitted or refused for want of a seat, is one round trip (the seat count is in the insert).
    for (const r of attempts) expect(await roundTrips(r.requestId)).toMatchObject({ neon: 1 });
    const self = await member(orgId);
    expectProblem(await call("POST", "/api/v1/agent/users/me", { token: self.bearer }), 409, "max_users_reached");

    // Deactivating frees a seat; reactivating needs one.
    const off = await call("PATCH", `/api/v1/agent/users/${user.userId}`, { token: admin.bearer, body: { isActive: false } });
    expect(off.body.isActive).toBe(false);
    expect(await roundTrips(off.requestId)).toMatchObject({ neon: 1 });
    expect((await call("POST", "/api/v1/agent/users/me", { token: self.bearer })).status).toBe(201);
    expectProblem(await call("PATCH", `/api/v1/agent/users/${user.userId}`, { token: admin.bearer, body: { isActive: true } }), 409, "max_users_reached");
  });

  it("are listed, read and changed within their organization only", async () => {
    const { orgId, admin } = await organization();
    const users = [await provisioned(orgId, admin), await provisioned(orgId, admin, ["viewer"])];
    const first = await call("GET", "/api/v1/agent/users?limit=2", { token: users[1]!.bearer });
    expect(first.status).toBe(200);
    expect(await roundTrips(first.requestId)).toMatchObject({ neon: 1 });
    const second = await call("GET", `/api/v1/agent/users?limit=2&cursor=${first.body.nextCursor}`, { token: users[1]!.bearer });
    expect([...first.body.items, ...second.body.items].map((u: { id: string }) => u.id)).toEqual([admin.userId, ...users.map((u) => u.userId)]);
    expect(second.body.nextCursor).toBeNull();

    const read = await call("GET", `/api/v1/agent/users/${users[0]!.userId}`, { token: users[1]!.bearer });
    expect(read.body.email).toBe(users[0]!.email);
    expect(await roundTrips(read.requestId)).toMatchObject({ neon: 1 });
    const other = await organization();
    expectProblem(await call("GET", `/api/v1/agent/users/${users[0]!.userId}`, { token: other.admin.bearer }), 404, "not_found");
    expect((await call("GET", "/api/v1/agent/users", { token: other.admin.bearer })).body.items.map((u: { id: string }) => u.id)).toEqual([other.admin.userId]);
    expectProblem(await call("PATCH", `/api/v1/agent/users/${users[0]!.userId}`, { token: other.admin.bearer, body: { role: "viewer" } }), 404, "not_found");

    const promoted = await call("PATCH", `/api/v1/agent/users/${users[0]!.userId}`, { token: admin.bearer, body: { role: "manager", name: "Max" } });
    expect(promoted.body).toMatchObject({ role: "manager", name: "Max" });
    expectProblem(await call("PATCH", `/api/v1/agent/users/${users[0]!.userId}`, { token: users[0]!.bearer, body: { role: "admin" } }), 403, "agent_role_required");
    expectProblem(await call("PATCH", `/api/v1/agent/users/${users[0]!.userId}`, { token: admin.bearer, body: { role: "owner" } }), 422, "validation_failed");
  });
});
