import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { chooseVersion } from "../../src/factory/rule-routing";
import { ruleDeployments } from "../../src/factory/schema";
import { runAs } from "../../src/platform/db";
import { as, db, seedTenant, seedUser } from "./factory-helpers";
import { SPEC_INPUT } from "./factory-rhai-helpers";
import { auditRows, deploy, expectOneRoundTrip, move, RULES, ruleset, thresholds, version } from "./factory-rules-helpers";
import { call, type CallResult, expectProblem } from "./helpers";

async function hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A tenant with a ruleset of two compiled versions, its admin (who requests) and an approver. */
async function setup() {
  const { tenantId, admin } = await seedTenant();
  const approver = await seedUser(tenantId, "approver");
  const rs = await ruleset(admin);
  await version(admin, rs.id);
  await version(admin, rs.id, thresholds(1.6, 1.3));
  return { tenantId, admin, approver, rs };
}

async function rulesetActive(admin: { bearer: string }, id: string): Promise<boolean> {
  return (await call("GET", `${RULES}/rulesets/${id}`, { token: admin.bearer })).body.isActive;
}

describe("factory rule deployments", () => {
  it("TC-RULE-001: a canary deployment (status canary, canary_pct 0.1) takes a deterministic tenth of its target lines", async () => {
    const { tenantId, admin, approver, rs } = await setup();
    const v1 = await deploy(admin, rs.id, { version: 1 });
    expect((await move(approver, v1.id, "approve")).body.status).toBe("active");

    const requested = await call("POST", `${RULES}/rulesets/${rs.id}/deploy`, {
      token: admin.bearer,
      body: { version: 2, changelog: "tighter thresholds", canaryPct: 0.1, canaryTargetFilter: { line_codes: ["L01", "L02"] } },
    });
    expect(requested.status).toBe(201);
    expect(requested.body).toMatchObject({ status: "draft", version: 2, canaryPct: 0.1, canaryTargetFilter: { line_codes: ["L01", "L02"] }, rollbackTo: 1, requestedBy: admin.userId, approverId: null });
    await expectOneRoundTrip(requested.requestId);

    const approved = await move(approver, requested.body.id, "approve");
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: "canary", canaryPct: 0.1, approverId: approver.userId });
    expect(approved.body.approvedAt).not.toBeNull();
    expect(approved.body.deployedAt).not.toBeNull();
    await expectOneRoundTrip(approved.requestId);

    // The judgment service reads these rows and routes with chooseVersion.
    const live = await call("GET", `${RULES}/deployments?rulesetId=${rs.id}`, { token: admin.bearer });
    const deployments = live.body.items;
    expect(deployments.map((d: { status: string }) => d.status)).toEqual(["canary", "active"]);
    const route = async (line: string, i: number) => (await chooseVersion(deployments, { inputData: { ...SPEC_INPUT, line_code: line }, inputHash: await hex(`${line}-${i}`) }, tenantId))!;
    const l01 = await Promise.all(Array.from({ length: 1000 }, (_, i) => route("L01", i)));
    const share = l01.filter((c) => c.version === 2).length / l01.length;
    expect(share).toBeGreaterThan(0.07);
    expect(share).toBeLessThan(0.13);
    expect(await Promise.all(Array.from({ length: 100 }, (_, i) => route("L01", i)))).toEqual(l01.slice(0, 100));
    const l03 = await Promise.all(Array.from({ length: 200 }, (_, i) => route("L03", i)));
    expect(new Set(l03.map((c) => c.version))).toEqual(new Set([1]));
  });

  it("four eyes: the requester may not approve or promote (403 naming the rule); the database holds the same rule", async () => {
    const { tenantId, admin, approver, rs } = await setup();
    const d = await deploy(admin, rs.id, { version: 1, canaryPct: 0.5 });
    const own = await move(admin, d.id, "approve");
    expectProblem(own, 403, "four_eyes_required");
    expect(own.body.detail).toContain("four-eyes");
    await expectOneRoundTrip(own.requestId);

    const viewer = await seedUser(tenantId, "viewer");
    const noPermission = await move(viewer, d.id, "approve");
    expectProblem(noPermission, 403, "permission_missing");
    expect(noPermission.body.permission).toBe("deployment:approve");
    const operator = await seedUser(tenantId, "operator");
    const cannotRequest = await call("POST", `${RULES}/rulesets/${rs.id}/deploy`, { token: operator.bearer, body: { version: 1, changelog: "x" } });
    expectProblem(cannotRequest, 403, "permission_missing");
    expect(cannotRequest.body.permission).toBe("deployment:create");

    expect((await move(approver, d.id, "approve")).body.status).toBe("canary");
    expectProblem(await move(admin, d.id, "promote"), 403, "four_eyes_required");
    const promoted = await move(approver, d.id, "promote");
    expect(promoted.body).toMatchObject({ status: "active", metadata: { promotedBy: approver.userId } });

    // Row-level security lets the admin write deployments, but the check refuses a self-approval however it is attempted.
    const [result] = await runAs(db, as(tenantId, admin.userId), [
      db.execute(sql`select count(*)::int as n from ${ruleDeployments} where id = ${d.id}::uuid`),
    ] as const);
    expect(result.rows[0]).toEqual({ n: 1 });
    await expect(
      runAs(db, as(tenantId, admin.userId), [db.execute(sql`update ${ruleDeployments} set approver_id = requested_by where id = ${d.id}::uuid`)] as const),
    ).rejects.toThrow(/rule_deployments_four_eyes/);
  });

  it("moves draft → canary → active, deprecating the previous active one, and answers 409 naming the state", async () => {
    const { admin, approver, rs } = await setup();
    const first = await deploy(admin, rs.id, { version: 1 });
    expect(first.rollbackTo).toBeNull();
    expect(await rulesetActive(admin, rs.id)).toBe(false);
    await move(approver, first.id, "approve");
    expect(await rulesetActive(admin, rs.id)).toBe(true);

    const again = await move(approver, first.id, "approve");
    expectProblem(again, 409, "invalid_state");
    expect(again.body).toMatchObject({ currentStatus: "active", allowed: ["draft"] });
    expect(again.body.detail).toContain("is active");
    await expectOneRoundTrip(again.requestId);
    expectProblem(await move(approver, first.id, "promote"), 409, "invalid_state");

    const canary = await deploy(admin, rs.id, { version: 2, canaryPct: 0.2 });
    const blocked = await deploy(admin, rs.id, { version: 2, canaryPct: 0.3 });
    await move(approver, canary.id, "approve");
    const busy = await move(approver, blocked.id, "approve");
    expectProblem(busy, 409, "canary_in_progress");
    expect(busy.body.canaryDeploymentId).toBe(canary.id);

    const promoted = await move(approver, canary.id, "promote");
    expect(promoted.status).toBe(200);
    await expectOneRoundTrip(promoted.requestId);
    const old = await call("GET", `${RULES}/deployments/${first.id}`, { token: admin.bearer });
    expect(old.body).toMatchObject({ status: "deprecated", metadata: { deprecatedFrom: "active", displacedBy: canary.id } });
    expect((await call("GET", `${RULES}/deployments?rulesetId=${rs.id}&status=active`, { token: admin.bearer })).body.items.map((d: { id: string }) => d.id)).toEqual([canary.id]);

    const withdrawn = await move(admin, blocked.id, "deprecate");
    expect(withdrawn.body).toMatchObject({ status: "deprecated", metadata: { deprecatedFrom: "draft" } });
    await expectOneRoundTrip(withdrawn.requestId);
    expect((await auditRows(admin, first.id)).map((a) => a.action)).toEqual(["deploy", "approve", "deprecate"]);
    const approvals = (await auditRows(admin, canary.id)).map((a) => [a.action, a.actorId]);
    expect(approvals).toEqual([
      ["deploy", admin.userId],
      ["approve", approver.userId],
      ["promote", approver.userId],
    ]);
    expectProblem(await move(approver, crypto.randomUUID(), "approve"), 404, "not_found");
  });

  it("rolls back: an active deployment restores rollback_to, a canary leaves the active one alone", async () => {
    const { admin, approver, rs } = await setup();
    const v1 = await deploy(admin, rs.id, { version: 1 });
    await move(approver, v1.id, "approve");
    const v2 = await deploy(admin, rs.id, { version: 2 });
    expect(v2.rollbackTo).toBe(1);
    await move(approver, v2.id, "approve");

    const rolled = await move(admin, v2.id, "rollback");
    expect(rolled.status).toBe(200);
    expect(rolled.body).toMatchObject({ status: "rolled_back", metadata: { rolledBackFrom: "active", rolledBackBy: admin.userId } });
    expect(rolled.body.rolledBackAt).not.toBeNull();
    await expectOneRoundTrip(rolled.requestId);
    const active = (await call("GET", `${RULES}/deployments?rulesetId=${rs.id}&status=active`, { token: admin.bearer })).body.items;
    expect(active).toHaveLength(1);
    expect(active[0]).toMatchObject({ version: 1, requestedBy: admin.userId, approverId: null, metadata: { restores: 1, rollbackOf: v2.id } });
    expect(await rulesetActive(admin, rs.id)).toBe(true);
    expect((await auditRows(admin, v2.id)).map((a) => a.action)).toEqual(["deploy", "approve", "rollback"]);
    expect((await auditRows(admin, active[0].id)).map((a) => a.action)).toEqual(["deploy"]);
    expectProblem(await move(admin, v2.id, "rollback"), 409, "invalid_state");

    const canary = await deploy(admin, rs.id, { version: 2, canaryPct: 0.5 });
    await move(approver, canary.id, "approve");
    expect((await move(admin, canary.id, "rollback")).body.status).toBe("rolled_back");
    expect((await call("GET", `${RULES}/deployments?rulesetId=${rs.id}&status=active`, { token: admin.bearer })).body.items.map((d: { id: string }) => d.id)).toEqual([active[0].id]);

    // Without a version to restore the ruleset is left with none active.
    const retired = await move(admin, active[0].id, "deprecate");
    expect(retired.body.status).toBe("deprecated");
    expect(await rulesetActive(admin, rs.id)).toBe(false);
  });

  it("checks what a request names: the version, its compile status, rollbackTo and the canary fields", async () => {
    const { admin, rs } = await setup();
    const missing = await call("POST", `${RULES}/rulesets/${rs.id}/deploy`, { token: admin.bearer, body: { version: 7, changelog: "x" } });
    expectProblem(missing, 404, "not_found");
    expect(missing.body.detail).toContain("version 7");
    expectProblem(await call("POST", `${RULES}/rulesets/${crypto.randomUUID()}/deploy`, { token: admin.bearer, body: { version: 1, changelog: "x" } }), 404, "not_found");
    const neverApproved = await call("POST", `${RULES}/rulesets/${rs.id}/deploy`, { token: admin.bearer, body: { version: 2, changelog: "x", rollbackTo: 1 } });
    expectProblem(neverApproved, 422, "validation_failed");
    expect(neverApproved.body.errors).toEqual([{ path: "json.rollbackTo", message: `version 1 of ruleset ${rs.id} was never approved` }]);
    const filterAlone = await call("POST", `${RULES}/rulesets/${rs.id}/deploy`, { token: admin.bearer, body: { version: 2, changelog: "x", canaryTargetFilter: { line_codes: ["L01"] } } });
    expect(filterAlone.body.errors.map((e: { path: string }) => e.path)).toEqual(["json.canaryTargetFilter"]);
    const badFilter = await call("POST", `${RULES}/rulesets/${rs.id}/deploy`, { token: admin.bearer, body: { version: 2, changelog: "x", canaryPct: 0.1, canaryTargetFilter: { lines: ["L01"] } } });
    expectProblem(badFilter, 422, "validation_failed");
    expectProblem(await call("POST", `${RULES}/rulesets/${rs.id}/deploy`, { token: admin.bearer, body: { version: 2, changelog: "x", canaryPct: 1.5 } }), 422, "validation_failed");
    expect((await call("GET", `${RULES}/deployments?rulesetId=${rs.id}`, { token: admin.bearer })).body.items).toEqual([]);
  });

  it("lists deployments newest first in keyset pages and reads one; readers need deployment:read", async () => {
    const { tenantId, admin, rs } = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await deploy(admin, rs.id, { version: 1 + (i % 2) })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: CallResult = await call("GET", `${RULES}/deployments?rulesetId=${rs.id}&status=draft&limit=2${cursor ? `&cursor=${cursor}` : ""}`, { token: admin.bearer });
      expect(page.status).toBe(200);
      await expectOneRoundTrip(page.requestId);
      seen.push(...page.body.items.map((d: { id: string }) => d.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const one = await call("GET", `${RULES}/deployments/${ids[0]}`, { token: admin.bearer });
    expect(one.body).toMatchObject({ id: ids[0], status: "draft", changelog: "test" });
    expect(one.body).not.toHaveProperty("otherCanary");
    await expectOneRoundTrip(one.requestId);
    const approver = await seedUser(tenantId, "approver");
    const refused = await call("GET", `${RULES}/deployments/${ids[0]}`, { token: approver.bearer });
    expectProblem(refused, 403, "permission_missing");
    expect(refused.body.permission).toBe("deployment:read");
    expectProblem(await call("GET", `${RULES}/deployments/${ids[0]}`, { token: (await seedTenant()).admin.bearer }), 404, "not_found");
  });
});
