import { describe, expect, it } from "vitest";
import { scriptHash } from "../../src/factory/rule-engine";
import { seedTenant, seedUser } from "./factory-helpers";
import { SPEC_INPUT, SPEC_SCRIPT } from "./factory-rhai-helpers";
import { auditRows, expectOneRoundTrip, outboxFor, RULES, ruleset, thresholds, version } from "./factory-rules-helpers";
import { call, type CallResult, expectProblem } from "./helpers";

describe("factory rule script versions", () => {
  it("stores the next version with its SHA-256, compiled at once, with test_coverage, an audit row and the conflict event, in one round trip", async () => {
    const { admin } = await seedTenant();
    const rs = await ruleset(admin);
    const first = await call("POST", `${RULES}/rulesets/${rs.id}/scripts`, { token: admin.bearer, body: { script: SPEC_SCRIPT } });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      rulesetId: rs.id,
      version: 1,
      language: "rhai",
      script: SPEC_SCRIPT,
      scriptHash: await scriptHash(SPEC_SCRIPT),
      compileStatus: "compiled",
      compileError: null,
      testCoverage: 1,
      createdBy: admin.userId,
      conflicts: [],
    });
    await expectOneRoundTrip(first.requestId);
    const audit = await auditRows(admin, first.body.id);
    expect(audit).toMatchObject([{ action: "create", resourceType: "rule_script", tenantId: admin.tenantId }]);
    expect((await outboxFor(first.body.id)).map((e) => [e.eventType, e.payload])).toEqual([
      ["RULE_VERSION_CREATED", { tenantId: admin.tenantId, rulesetId: rs.id, version: 1 }],
    ]);

    const second = await version(admin, rs.id, thresholds(2, 1.5));
    expect(second.version).toBe(2);
    const bare = await version(admin, rs.id, 'fn judge(metrics) { #{ result: "normal" } }');
    expect(bare).toMatchObject({ version: 3, compileStatus: "compiled", testCoverage: 1 });
  });

  it("stores a script that does not compile as a failed version with line and column, never sent for comparison", async () => {
    const { admin } = await seedTenant();
    const rs = await ruleset(admin);
    const failed = await call("POST", `${RULES}/rulesets/${rs.id}/scripts`, { token: admin.bearer, body: { script: "fn judge(metrics) {\n  if metrics.x > {\n}" } });
    expect(failed.status).toBe(201);
    expect(failed.body).toMatchObject({ version: 1, compileStatus: "failed", testCoverage: null, conflicts: [] });
    expect(failed.body.compileError).toMatch(/^line \d+, column \d+: /);
    await expectOneRoundTrip(failed.requestId);
    expect(await outboxFor(failed.body.id)).toEqual([]);

    const tested = await call("POST", `${RULES}/rulesets/${rs.id}/scripts/1/test`, { token: admin.bearer, body: { input: SPEC_INPUT } });
    expectProblem(tested, 409, "version_not_compiled");
    const deployed = await call("POST", `${RULES}/rulesets/${rs.id}/deploy`, { token: admin.bearer, body: { version: 1, changelog: "x" } });
    expectProblem(deployed, 409, "version_not_compiled");
    await expectOneRoundTrip(deployed.requestId);
  });

  it("numbers concurrent writes 1..n without a gap or a refusal", async () => {
    const { admin } = await seedTenant();
    const rs = await ruleset(admin);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => call("POST", `${RULES}/rulesets/${rs.id}/scripts`, { token: admin.bearer, body: { script: thresholds(1.5 + i / 10, 1.2) } })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(6).fill(201));
    expect(results.map((r) => r.body.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const r of results) await expectOneRoundTrip(r.requestId);
  });

  it("records a version's own conflicts at once: a call cycle, separate ifs that both hold", async () => {
    const { admin } = await seedTenant();
    const rs = await ruleset(admin);
    const cyclic = await version(admin, rs.id, "fn judge(metrics) { ping(metrics.n) }\nfn ping(n) { if n > 0 { pong(n - 1) } else { 0 } }\nfn pong(n) { ping(n) }");
    expect(cyclic.conflicts).toMatchObject([{ conflictType: "circular_dependency", severity: "high", ruleVersion1: 1, ruleVersion2: 1, resolutionStatus: "unresolved" }]);
    const overlapping = await version(
      admin,
      rs.id,
      'fn judge(metrics) {\n  if metrics.oee < 0.6 { return #{ result: "critical" }; }\n  if metrics.oee < 0.8 { return #{ result: "warning" }; }\n  #{ result: "normal" }\n}',
    );
    expect(overlapping.conflicts).toMatchObject([{ conflictType: "condition_overlap", severity: "medium", ruleVersion1: 2, ruleVersion2: 2 }]);
    const listed = await call("GET", `${RULES}/conflicts?rulesetId=${rs.id}`, { token: admin.bearer });
    expect(listed.body.items.map((c: { conflictType: string }) => c.conflictType).sort()).toEqual(["circular_dependency", "condition_overlap"]);
  });

  it("lists versions newest first, reads one, and evaluates one on an input without writing", async () => {
    const { tenantId, admin } = await seedTenant();
    const rs = await ruleset(admin);
    for (let i = 0; i < 3; i++) await version(admin, rs.id, thresholds(1.5, 1.2 + i / 100));
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: CallResult = await call("GET", `${RULES}/rulesets/${rs.id}/scripts?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { token: admin.bearer });
      expect(page.status).toBe(200);
      await expectOneRoundTrip(page.requestId);
      seen.push(...page.body.items.map((v: { version: number }) => v.version));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([3, 2, 1]);

    const one = await call("GET", `${RULES}/rulesets/${rs.id}/scripts/2`, { token: admin.bearer });
    expect(one.body).toMatchObject({ version: 2, rulesetId: rs.id });
    await expectOneRoundTrip(one.requestId);
    expectProblem(await call("GET", `${RULES}/rulesets/${rs.id}/scripts/9`, { token: admin.bearer }), 404, "not_found");
    expectProblem(await call("GET", `${RULES}/rulesets/${crypto.randomUUID()}/scripts`, { token: admin.bearer }), 404, "not_found");
    expectProblem(await call("POST", `${RULES}/rulesets/${crypto.randomUUID()}/scripts`, { token: admin.bearer, body: { script: SPEC_SCRIPT } }), 404, "not_found");

    const tested = await call("POST", `${RULES}/rulesets/${rs.id}/scripts/1/test`, { token: admin.bearer, body: { input: SPEC_INPUT } });
    expect(tested.status).toBe(200);
    await expectOneRoundTrip(tested.requestId);
    expect(tested.body).toMatchObject({ ok: true, error: null, value: { result: "warning", confidence: 0.9, actions: ["notify_operator"] } });
    expect(tested.body.trace.filter((t: { taken: boolean }) => t.taken).map((t: { condition: string }) => t.condition)).toEqual(["defect_rate > target * 1.2"]);
    const broken = await call("POST", `${RULES}/rulesets/${rs.id}/scripts/1/test`, { token: admin.bearer, body: { input: { metrics: { defect_rate: "high" } } } });
    expect(broken.body).toMatchObject({ ok: false, value: null });
    expect(broken.body.error.line).toBeGreaterThan(0);
    expect((await auditRows(admin, rs.id)).map((a) => a.action)).toEqual(["create"]);

    const viewer = await seedUser(tenantId, "viewer");
    const refused = await call("POST", `${RULES}/rulesets/${rs.id}/scripts`, { token: viewer.bearer, body: { script: SPEC_SCRIPT } });
    expectProblem(refused, 403, "permission_missing");
    expect(refused.body.permission).toBe("rule:create");
    expectProblem(await call("GET", `${RULES}/rulesets/${rs.id}/scripts`, { token: viewer.bearer }), 403, "permission_missing");
  });
});
