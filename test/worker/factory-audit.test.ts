import { describe, expect, it } from "vitest";
import { call, expectProblem, roundTrips } from "./helpers";
import { createdTenant, seedUser } from "./factory-helpers";

type Row = { id: string; action: string; resourceType: string; resourceId: string; actorId: string | null; createdAt: string };

describe("factory GET /audit-logs", () => {
  it("lists the tenant's audit rows newest first in keyset pages, filtered by actor, action, resource and time", async () => {
    const { tenantId, admin } = await createdTenant();
    const viewer = await seedUser(tenantId, "viewer");
    const start = new Date().toISOString();
    await call("PATCH", `/api/v1/factory/users/${viewer.userId}`, { token: admin.bearer, body: { role: "operator" } });
    await call("PATCH", `/api/v1/factory/users/${viewer.userId}`, { token: admin.bearer, body: { role: "approver" } });
    await call("POST", `/api/v1/factory/users/${viewer.userId}/lock`, { token: admin.bearer });
    await call("PATCH", "/api/v1/factory/tenant", { token: admin.bearer, body: { displayName: "Audited" } });

    const all = await call("GET", "/api/v1/factory/audit-logs?limit=100", { token: admin.bearer });
    expect(all.status).toBe(200);
    expect((await roundTrips(all.requestId)).neon).toBe(1);
    const actions = all.body.items.map((r: Row) => `${r.action} ${r.resourceType}`);
    // Newest first; the tenant and its first admin were created in one transaction (one created_at), before the rest.
    expect(actions.slice(0, 4)).toEqual(["update tenant", "lock user", "update user", "update user"]);
    expect(actions.slice(4).sort()).toEqual(["create tenant", "create user"]);

    const pages: Row[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof call<{ items: Row[]; nextCursor: string | null }>>> = await call(
        "GET",
        `/api/v1/factory/audit-logs?limit=4${cursor ? `&cursor=${cursor}` : ""}`,
        { token: admin.bearer },
      );
      pages.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(pages.map((r) => r.id)).toEqual(all.body.items.map((r: Row) => r.id));

    const byResource = await call("GET", `/api/v1/factory/audit-logs?resourceType=user&resourceId=${viewer.userId}&action=update`, { token: admin.bearer });
    expect(byResource.body.items).toHaveLength(2);
    const byActor = await call("GET", `/api/v1/factory/audit-logs?actorId=${admin.userId}`, { token: admin.bearer });
    expect(byActor.body.items).toHaveLength(4);
    const bySystem = await call("GET", "/api/v1/factory/audit-logs?actorType=system", { token: admin.bearer });
    expect(bySystem.body.items.map((r: Row) => r.resourceType).sort()).toEqual(["tenant", "user"]);
    const since = await call("GET", `/api/v1/factory/audit-logs?from=${encodeURIComponent(start)}`, { token: admin.bearer });
    expect(since.body.items).toHaveLength(4);
    const before = await call("GET", `/api/v1/factory/audit-logs?to=${encodeURIComponent(start)}`, { token: admin.bearer });
    expect(before.body.items.map((r: Row) => r.action)).toEqual(["create", "create"]);
    expectProblem(await call("GET", `/api/v1/factory/audit-logs?from=${encodeURIComponent(start)}&to=2020-01-01T00:00:00Z`, { token: admin.bearer }), 422, "validation_failed");
    expectProblem(await call("GET", "/api/v1/factory/audit-logs?cursor=bm9wZQ", { token: admin.bearer }), 422, "validation_failed");
  });

  it("is for holders of audit:read only", async () => {
    const { tenantId } = await createdTenant();
    const operator = await seedUser(tenantId, "operator");
    const res = await call("GET", "/api/v1/factory/audit-logs", { token: operator.bearer });
    expectProblem(res, 403, "permission_missing");
    expect(res.body.permission).toBe("audit:read");
    expect((await roundTrips(res.requestId)).neon).toBe(1);
  });
});
