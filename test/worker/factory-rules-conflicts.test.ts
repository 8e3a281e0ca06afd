import { describe, expect, it } from "vitest";
import { conflictRequestId, detectOutputConflicts } from "../../src/factory/conflict-jobs";
import { judgmentExecutions } from "../../src/factory/schema";
import { runAs } from "../../src/platform/db";
import { toEnvelope } from "../../src/platform/relay";
import { eventually } from "./exam-events-helpers";
import { as, db, seedTenant, seedUser, type FactoryUser } from "./factory-helpers";
import { SPEC_INPUT } from "./factory-rhai-helpers";
import { auditRows, deploy, expectOneRoundTrip, move, outboxFor, RULES, ruleset, thresholds, version } from "./factory-rules-helpers";
import { call, expectProblem, roundTrips, testEnv } from "./helpers";

interface Conflict {
  id: string;
  rulesetId: string;
  otherRulesetId: string | null;
  ruleVersion1: number;
  ruleVersion2: number;
  conflictType: string;
  severity: string;
  description: string;
  resolutionStatus: string;
}

/** Polls the list until the consumer (reached through the relay and the queue) has written an output_conflict of the ruleset. */
async function outputConflicts(user: FactoryUser, rulesetId: string): Promise<Conflict[]> {
  return eventually(async () => {
    const res = await call("GET", `${RULES}/conflicts?rulesetId=${rulesetId}&type=output_conflict`, { token: user.bearer });
    return res.body.items.length ? (res.body.items as Conflict[]) : undefined;
  });
}

/** A stored judgment input of the tenant (what the judgment service writes), for the comparison to use. */
async function storeInput(admin: FactoryUser, input: Record<string, unknown>) {
  await runAs(db, as(admin.tenantId, admin.userId), [
    db.insert(judgmentExecutions).values({ tenantId: admin.tenantId, source: "api", inputData: input, result: "normal", methodUsed: "rule_only", traceId: crypto.randomUUID() }),
  ] as const);
}

describe("factory rule conflicts", () => {
  it("TC-RULE-002: a new version that answers critical where the active one says normal is an output_conflict of severity high", async () => {
    const { tenantId, admin } = await seedTenant();
    const approver = await seedUser(tenantId, "approver");
    // A stored input far from the grid: its line shows the comparison read the tenant's stored inputs (they come first).
    await storeInput(admin, { ...SPEC_INPUT, line_code: "L77", metrics: { defect_rate: 0.5 }, context: { target_defect_rate: 0.3 } });
    const rs = await ruleset(admin);
    await version(admin, rs.id);
    await move(approver, (await deploy(admin, rs.id, { version: 1 })).id, "approve");

    const lenient = await version(admin, rs.id, thresholds(3, 2.5));
    expect(lenient.conflicts).toEqual([]);
    const [found, ...others] = await outputConflicts(admin, rs.id);
    expect(others).toEqual([]);
    expect(found).toMatchObject({ conflictType: "output_conflict", severity: "high", ruleVersion1: 1, ruleVersion2: 2, otherRulesetId: null, resolutionStatus: "unresolved" });
    expect(found!.description).toMatch(new RegExp(`^version 2 of ruleset '${rs.name}' and version 1 of ruleset '${rs.name}' answer \\d+ of \\d+ inputs differently; e\\.g\\. .+: normal against critical$`));
    expect(found!.description).toContain('"line_code":"L77"');
    const high = await call("GET", `${RULES}/conflicts?severity=high&status=unresolved&type=output_conflict`, { token: admin.bearer });
    expect(high.body.items.map((c: Conflict) => c.id)).toEqual([found!.id]);
    await expectOneRoundTrip(high.requestId);
    expect((await call("GET", `${RULES}/conflicts?severity=low`, { token: admin.bearer })).body.items).toEqual([]);
  });

  it("compares a deployed version with the active version of every other ruleset on the same KPI (critical when they are two levels apart)", async () => {
    const { tenantId, admin } = await seedTenant();
    const approver = await seedUser(tenantId, "approver");
    const kpi = `kpi-${crypto.randomUUID().slice(0, 8)}`;
    const strict = await ruleset(admin, { targetKpi: kpi });
    const loose = await ruleset(admin, { targetKpi: kpi });
    const elsewhere = await ruleset(admin, { targetKpi: "oee" });
    for (const r of [strict, elsewhere]) {
      await version(admin, r.id);
      await move(approver, (await deploy(admin, r.id, { version: 1 })).id, "approve");
    }
    await version(admin, loose.id, thresholds(3, 2.5));
    await deploy(admin, loose.id, { version: 1 });
    const found = await outputConflicts(admin, loose.id);
    expect(found).toHaveLength(1);
    const [a, b] = [strict.id, loose.id].sort();
    expect(found[0]).toMatchObject({ rulesetId: a, otherRulesetId: b, ruleVersion1: 1, ruleVersion2: 1, severity: "critical" });
    expect((await call("GET", `${RULES}/conflicts?rulesetId=${elsewhere.id}`, { token: admin.bearer })).body.items).toEqual([]);
  });

  it("the consumer costs a read and a write, records a finding once however often it runs, and only reads when versions agree", async () => {
    const { admin } = await seedTenant();
    const rs = await ruleset(admin);
    await version(admin, rs.id);
    const v2 = await version(admin, rs.id, thresholds(1.5, 1.3));
    const [event] = (await outboxFor(v2.id)).map(toEnvelope);
    const fresh = { ...event!, eventId: crypto.randomUUID() };
    const found = await detectOutputConflicts(fresh, testEnv);
    expect(found.map((f) => [f.severity, f.version1, f.version2])).toEqual([["medium", 1, 2]]);
    expect(await roundTrips(conflictRequestId(fresh.eventId))).toMatchObject({ neon: 2 });
    const listed = await outputConflicts(admin, rs.id);
    const again = { ...event!, eventId: crypto.randomUUID() };
    await detectOutputConflicts(again, testEnv);
    expect((await call("GET", `${RULES}/conflicts?rulesetId=${rs.id}&type=output_conflict`, { token: admin.bearer })).body.items).toEqual(listed);

    // Version 3 equals version 2, its previous one (nothing is live): nothing found, one read only.
    const same = await version(admin, rs.id, thresholds(1.5, 1.3));
    const [copyEvent] = (await outboxFor(same.id)).map(toEnvelope);
    const quiet = { ...copyEvent!, eventId: crypto.randomUUID() };
    expect(await detectOutputConflicts(quiet, testEnv)).toEqual([]);
    expect(await roundTrips(conflictRequestId(quiet.eventId))).toMatchObject({ neon: 1 });
  });

  it("resolves a conflict with a note, recording who and when, audited; reopening clears them", async () => {
    const { tenantId, admin } = await seedTenant();
    const rs = await ruleset(admin);
    const cyclic = await version(admin, rs.id, "fn judge(metrics) { judge(metrics) }");
    const conflict = cyclic.conflicts[0] as unknown as Conflict;
    expect(conflict).toMatchObject({ conflictType: "circular_dependency", severity: "medium" });

    const read = await call("GET", `${RULES}/conflicts/${conflict.id}`, { token: admin.bearer });
    expect(read.body).toMatchObject({ id: conflict.id, resolutionStatus: "unresolved", resolvedBy: null });
    await expectOneRoundTrip(read.requestId);
    const resolved = await call("PATCH", `${RULES}/conflicts/${conflict.id}`, { token: admin.bearer, body: { resolutionStatus: "accepted", resolutionNote: "recursion ends on n" } });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ resolutionStatus: "accepted", resolutionNote: "recursion ends on n", resolvedBy: admin.userId });
    expect(resolved.body.resolvedAt).not.toBeNull();
    await expectOneRoundTrip(resolved.requestId);
    const reopened = await call("PATCH", `${RULES}/conflicts/${conflict.id}`, { token: admin.bearer, body: { resolutionStatus: "investigating" } });
    expect(reopened.body).toMatchObject({ resolutionStatus: "investigating", resolutionNote: "recursion ends on n", resolvedBy: null, resolvedAt: null });
    expect((await auditRows(admin, conflict.id)).map((a) => [a.action, a.resourceType])).toEqual([
      ["update", "rule_conflict"],
      ["update", "rule_conflict"],
    ]);
    expect((await call("GET", `${RULES}/conflicts?status=investigating&rulesetId=${rs.id}`, { token: admin.bearer })).body.items).toHaveLength(1);

    expectProblem(await call("PATCH", `${RULES}/conflicts/${crypto.randomUUID()}`, { token: admin.bearer, body: { resolutionStatus: "resolved" } }), 404, "not_found");
    expectProblem(await call("PATCH", `${RULES}/conflicts/${conflict.id}`, { token: admin.bearer, body: { resolutionStatus: "done" } }), 422, "validation_failed");
    const approver = await seedUser(tenantId, "approver");
    const refused = await call("PATCH", `${RULES}/conflicts/${conflict.id}`, { token: approver.bearer, body: { resolutionStatus: "resolved" } });
    expectProblem(refused, 403, "permission_missing");
    expect(refused.body.permission).toBe("rule:update");
    expectProblem(await call("GET", `${RULES}/conflicts/${conflict.id}`, { token: (await seedTenant()).admin.bearer }), 404, "not_found");
  });
});
