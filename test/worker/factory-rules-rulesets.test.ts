import { describe, expect, it } from "vitest";
import { seedTenant, seedUser } from "./factory-helpers";
import { auditRows, deploy, expectOneRoundTrip, RULES, ruleset, uniqueName, version } from "./factory-rules-helpers";
import { call, type CallResult, expectProblem } from "./helpers";

describe("factory rulesets", () => {
  it("creates a ruleset, one name per tenant, with its audit row, in one round trip", async () => {
    const { tenantId, admin } = await seedTenant();
    const name = uniqueName();
    const created = await call("POST", `${RULES}/rulesets`, {
      token: admin.bearer,
      body: { name, targetKpi: "defect_rate", category: "quality", description: "불량률", priority: 10, metadata: { owner: "qa" } },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name, tenantId, targetKpi: "defect_rate", category: "quality", priority: 10, isActive: false, createdBy: admin.userId, metadata: { owner: "qa" } });
    await expectOneRoundTrip(created.requestId);
    const audit = await auditRows(admin, created.body.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: "create", resourceType: "ruleset", actorId: admin.userId, actorType: "user", beforeState: null });
    expect((audit[0]!.afterState as { name: string }).name).toBe(name);

    const again = await call("POST", `${RULES}/rulesets`, { token: admin.bearer, body: { name, targetKpi: "oee" } });
    expectProblem(again, 409, "ruleset_name_taken");
    expect(again.body.detail).toContain(name);
    await expectOneRoundTrip(again.requestId);

    // The same name in another tenant is another ruleset.
    const other = await seedTenant();
    expect((await call("POST", `${RULES}/rulesets`, { token: other.admin.bearer, body: { name, targetKpi: "oee" } })).status).toBe(201);
    expectProblem(await call("GET", `${RULES}/rulesets/${created.body.id}`, { token: other.admin.bearer }), 404, "not_found");

    const bad = await call("POST", `${RULES}/rulesets`, { token: admin.bearer, body: { name: "", targetKpi: "x", category: "cooking" } });
    expectProblem(bad, 422, "validation_failed");
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["json.category", "json.name"]);
  });

  it("refuses callers without the permission, naming it, before reading anything", async () => {
    const { tenantId, admin } = await seedTenant();
    const own = await ruleset(admin);
    for (const role of ["viewer", "operator", "approver"] as const) {
      const user = await seedUser(tenantId, role);
      const refused = await call("POST", `${RULES}/rulesets`, { token: user.bearer, body: { name: uniqueName(), targetKpi: "oee" } });
      expectProblem(refused, 403, "permission_missing");
      expect(refused.body.permission).toBe("rule:create");
      expect(refused.body.detail).toContain("rule:create");
      expectProblem(await call("GET", `${RULES}/rulesets/${own.id}`, { token: user.bearer }), 403, "permission_missing");
    }
    const reader = await seedUser(tenantId, "viewer", { permissions: ["rule:read"] });
    expect((await call("GET", `${RULES}/rulesets/${own.id}`, { token: reader.bearer })).status).toBe(200);
    expectProblem(await call("PATCH", `${RULES}/rulesets/${own.id}`, { token: reader.bearer, body: { priority: 1 } }), 403, "permission_missing");
    const writer = await seedUser(tenantId, "operator", { permissions: ["rule:*"] });
    expect((await call("POST", `${RULES}/rulesets`, { token: writer.bearer, body: { name: uniqueName(), targetKpi: "oee" } })).status).toBe(201);
  });

  it("lists by name in keyset pages, filtered by KPI, category and activity", async () => {
    const { admin } = await seedTenant();
    const kpi = uniqueName("kpi");
    for (const [name, category] of [["b", "quality"], ["a", "quality"], ["c", "safety"], ["d", "quality"]]) {
      await ruleset(admin, { name: `${kpi}-${name}`, targetKpi: kpi, category });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: CallResult = await call("GET", `${RULES}/rulesets?targetKpi=${kpi}&category=quality&limit=2${cursor ? `&cursor=${cursor}` : ""}`, { token: admin.bearer });
      expect(page.status).toBe(200);
      await expectOneRoundTrip(page.requestId);
      seen.push(...page.body.items.map((r: { name: string }) => r.name));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([`${kpi}-a`, `${kpi}-b`, `${kpi}-d`]);
    expect((await call("GET", `${RULES}/rulesets?targetKpi=${kpi}&isActive=true`, { token: admin.bearer })).body.items).toEqual([]);
    expect((await call("GET", `${RULES}/rulesets?targetKpi=${kpi}&isActive=false`, { token: admin.bearer })).body.items).toHaveLength(4);
    expectProblem(await call("GET", `${RULES}/rulesets?cursor=nope`, { token: admin.bearer }), 422, "validation_failed");
  });

  it("changes a ruleset with an audited diff; a taken name is a 409 naming it", async () => {
    const { admin } = await seedTenant();
    const first = await ruleset(admin);
    const second = await ruleset(admin);
    const changed = await call("PATCH", `${RULES}/rulesets/${first.id}`, { token: admin.bearer, body: { description: "new", priority: 5 } });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ description: "new", priority: 5, name: first.name });
    await expectOneRoundTrip(changed.requestId);
    const audit = await auditRows(admin, first.id);
    expect(audit.map((a) => a.action)).toEqual(["create", "update"]);
    expect(audit[1]!.diff).toEqual(expect.arrayContaining([{ op: "replace", path: "/priority", value: 5 }]));

    const taken = await call("PATCH", `${RULES}/rulesets/${first.id}`, { token: admin.bearer, body: { name: second.name } });
    expectProblem(taken, 409, "ruleset_name_taken");
    expect(taken.body.detail).toContain(second.name);
    expectProblem(await call("PATCH", `${RULES}/rulesets/${crypto.randomUUID()}`, { token: admin.bearer, body: { priority: 1 } }), 404, "not_found");
    expectProblem(await call("PATCH", `${RULES}/rulesets/${first.id}`, { token: admin.bearer, body: { isActive: true } }), 422, "validation_failed");
    expectProblem(await call("PATCH", `${RULES}/rulesets/${first.id}`, { token: admin.bearer, body: {} }), 422, "validation_failed");
  });

  it("deletes a ruleset that never had a deployment, with its versions; a deployed one is a 409", async () => {
    const { admin } = await seedTenant();
    const plain = await ruleset(admin);
    await version(admin, plain.id, "fn judge(metrics) { judge(metrics) }");
    const deleted = await call("DELETE", `${RULES}/rulesets/${plain.id}`, { token: admin.bearer });
    expect(deleted.status).toBe(204);
    await expectOneRoundTrip(deleted.requestId);
    expect((await auditRows(admin, plain.id)).map((a) => a.action)).toEqual(["create", "delete"]);
    expectProblem(await call("GET", `${RULES}/rulesets/${plain.id}/scripts/1`, { token: admin.bearer }), 404, "not_found");
    expectProblem(await call("DELETE", `${RULES}/rulesets/${plain.id}`, { token: admin.bearer }), 404, "not_found");

    const deployed = await ruleset(admin);
    await version(admin, deployed.id);
    await deploy(admin, deployed.id, { version: 1 });
    const refused = await call("DELETE", `${RULES}/rulesets/${deployed.id}`, { token: admin.bearer });
    expectProblem(refused, 409, "ruleset_deployed");
    expect((await call("GET", `${RULES}/rulesets/${deployed.id}`, { token: admin.bearer })).status).toBe(200);
  });
});
