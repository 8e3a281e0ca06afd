import { describe, expect, it } from "vitest";
import { call, expectProblem, roundTrips } from "./helpers";
import { bearerOf, seedTenant, seedUser } from "./factory-helpers";

describe("factory GET /me", () => {
  it("answers the caller's user, tenant and effective permissions in one round trip", async () => {
    const { tenantId } = await seedTenant();
    const viewer = await seedUser(tenantId, "viewer", { permissions: ["rule:read"] });
    const res = await call("GET", "/api/v1/factory/me", { token: viewer.bearer });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: viewer.userId, tenantId, role: "viewer", status: "active" });
    expect(res.body.user).not.toHaveProperty("passwordHash");
    expect(res.body.tenant).toMatchObject({ id: tenantId, status: "active" });
    expect(res.body.permissions).toEqual(["judgment:read", "workflow:read", "bi:read", "mcp:read", "rule:read"]);
    expect(await roundTrips(res.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });
  });

  it("refuses unknown, inactive and locked users and suspended tenants with a 403 naming why", async () => {
    const { tenantId } = await seedTenant();
    const locked = await seedUser(tenantId, "operator", { status: "locked" });
    const inactive = await seedUser(tenantId, "operator", { status: "inactive" });
    const suspended = await seedTenant({ status: "suspended" });
    const cases: [string, string][] = [
      [locked.bearer, "user_locked"],
      [inactive.bearer, "user_inactive"],
      [suspended.admin.bearer, "tenant_suspended"],
      [await bearerOf(tenantId, crypto.randomUUID()), "user_unknown"],
      [await bearerOf(crypto.randomUUID(), locked.userId), "tenant_unknown"],
      [await bearerOf("plant-7", locked.userId), "tenant_unknown"],
    ];
    for (const [bearer, reason] of cases) {
      const res = await call("GET", "/api/v1/factory/me", { token: bearer });
      expectProblem(res, 403, reason);
      expect(res.body.reason).toBe(reason);
    }
  });

  it("shows each route's permission in /openapi.json", async () => {
    const doc = await call("GET", "/openapi.json");
    const op = doc.body.paths["/api/v1/factory/me"].get;
    expect(op["x-permission"]).toBeNull();
    expect(op.description).toContain("Permission: none (any active user of the tenant)");
  });
});
