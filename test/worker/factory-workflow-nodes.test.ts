import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { judgmentExecutions, workflowInstances } from "../../src/factory/schema";
import { nodeContextFor, nodeRequestId } from "../../src/factory/workflow-context";
import { NodeError } from "../../src/factory/workflow-errors";
import { dataNode } from "../../src/factory/workflow-nodes/data";
import { deployNode } from "../../src/factory/workflow-nodes/deploy";
import { judgmentNode } from "../../src/factory/workflow-nodes/judgment";
import { rollbackNode } from "../../src/factory/workflow-nodes/rollback";
import { simulateNode } from "../../src/factory/workflow-nodes/simulate";
import type { NodeHandler } from "../../src/factory/workflow-nodes/types";
import { runAs } from "../../src/platform/db";
import { as, db, seedTenant, seedUser, type FactoryUser } from "./factory-helpers";
import { BASE, callKept, leaksIn, pgSource, searchForSecrets } from "./factory-connectors-helpers";
import { defectInput, execute, seedRuleset, seedWorkflow } from "./factory-judgments-helpers";
import { auditRows, deploy, move, rulesetWithVersions, thresholds } from "./factory-rules-helpers";
import { DEFECT_RATE_SCRIPT } from "./factory-judgments-helpers";
import { roundTrips, testEnv } from "./helpers";

searchForSecrets();

/** A workflow of the admin's tenant with one RUNNING instance, triggered by `actor`. */
async function instanceOf(admin: FactoryUser, actor: FactoryUser = admin) {
  const workflowId = await seedWorkflow(admin);
  const [rows] = await runAs(db, as(admin.tenantId, admin.userId), [
    db
      .insert(workflowInstances)
      .values({ workflowId, tenantId: admin.tenantId, status: "RUNNING", triggerType: "manual", triggeredBy: actor.userId, traceId: `trace-${crypto.randomUUID()}` })
      .returning({ id: workflowInstances.id, traceId: workflowInstances.traceId }),
  ] as const);
  return { workflowId, instanceId: rows[0]!.id, traceId: rows[0]!.traceId, actor, admin };
}

type Instance = Awaited<ReturnType<typeof instanceOf>>;

/** Runs one node as the engine would: a fresh node id (so its round trips are its own), the instance's variables. */
async function runNode(handler: NodeHandler, inst: Instance, config: Record<string, unknown>, options: { input?: Record<string, unknown>; signal?: AbortSignal; actor?: string | null } = {}) {
  const nodeId = `n_${crypto.randomUUID().slice(0, 8)}`;
  const ctx = nodeContextFor(testEnv, {
    tenantId: inst.admin.tenantId,
    actorUserId: options.actor === undefined ? inst.actor.userId : options.actor,
    workflowId: inst.workflowId,
    instanceId: inst.instanceId,
    nodeId,
    traceId: inst.traceId,
    variables: { input: options.input ?? {}, global: { min_defects: 3 }, nodes: {} },
    signal: options.signal ?? new AbortController().signal,
  });
  const requestId = nodeRequestId(inst.instanceId, nodeId);
  try {
    return { result: (await handler(ctx, config)) as any, error: null, requestId };
  } catch (error) {
    if (!(error instanceof NodeError)) throw error;
    return { result: null, error, requestId };
  }
}

async function expectNodeError(run: Promise<{ error: NodeError | null }>, code: string) {
  const { error } = await run;
  expect(error, `expected ${code}`).toBeInstanceOf(NodeError);
  expect(error!.code, error!.message).toBe(code);
  expect(leaksIn([error!.message, JSON.stringify(error!.details ?? {})])).toEqual([]);
  return error!;
}

async function connector(admin: FactoryUser, config: Record<string, unknown> = {}) {
  const res = await callKept("POST", BASE, { token: admin.bearer, body: { name: `c-${crypto.randomUUID()}`, type: "postgres", ...pgSource(config) } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

describe("DATA node", () => {
  it("runs a bound query on the tenant's connector with parameters from paths, in one round trip", async () => {
    const { admin } = await seedTenant();
    const inst = await instanceOf(admin);
    const id = await connector(admin);
    const run = await runNode(
      dataNode,
      inst,
      { connector_id: id, query: "select id, line_code, defects from mes.production_rows where line_code = :line and defects >= :min order by id", params: { line: "$.input.line_code", min: "$.global.min_defects" }, max_rows: 3 },
      { input: { line_code: "L02" } },
    );
    expect(run.error).toBeNull();
    expect(run.result).toMatchObject({ columns: ["id", "line_code", "defects"], rowCount: 3, truncated: true });
    expect(run.result.rows.every((r: { line_code: string; defects: number }) => r.line_code === "L02" && r.defects >= 3)).toBe(true);
    expect((await roundTrips(run.requestId)).neon).toBe(1);
    expect(leaksIn([JSON.stringify(run.result)])).toEqual([]);
    // A value is only a value: the injection attempt matches nothing.
    const injected = await runNode(dataNode, inst, { connector_id: id, query: "select count(*)::int as n from mes.production_rows where line_code = :line", params: { line: "$.input.line_code" } }, { input: { line_code: "L01' or '1'='1" } });
    expect(injected.result.rows).toEqual([{ n: 0 }]);
  });

  it("unknown connector and another tenant's connector: NOT_FOUND; read-only violations: VALIDATION_ERROR; a bad config names its pointer", async () => {
    const { admin } = await seedTenant();
    const inst = await instanceOf(admin);
    const id = await connector(admin);
    const unknown = await expectNodeError(runNode(dataNode, inst, { connector_id: crypto.randomUUID(), query: "select 1" }), "NOT_FOUND");
    expect(unknown.message).toContain("connector");
    const other = await seedTenant();
    await expectNodeError(runNode(dataNode, await instanceOf(other.admin), { connector_id: id, query: "select 1" }), "NOT_FOUND");

    const upFront = await expectNodeError(runNode(dataNode, inst, { connector_id: id, query: "delete from mes.production_rows" }), "VALIDATION_ERROR");
    expect(upFront.details).toMatchObject({ pointer: "/config/query" });
    const missing = await expectNodeError(runNode(dataNode, inst, { connector_id: id, query: "select :nope" }), "VALIDATION_ERROR");
    expect(missing.details).toMatchObject({ pointer: "/config/params/nope" });
    const sneaky = await expectNodeError(runNode(dataNode, inst, { connector_id: id, query: "select nextval('mes.lot_seq')" }), "VALIDATION_ERROR");
    expect(sneaky.details).toMatchObject({ kind: "refused", sqlstate: "25006" });

    const notScalar = await expectNodeError(runNode(dataNode, inst, { connector_id: id, query: "select :v", params: { v: "$.input.obj" } }, { input: { obj: { a: 1 } } }), "VALIDATION_ERROR");
    expect(notScalar.details).toMatchObject({ errors: [{ pointer: "/config/params/v" }] });
    const badId = await expectNodeError(runNode(dataNode, inst, { connector_id: "nope", query: "select 1" }), "VALIDATION_ERROR");
    expect(badId.details).toMatchObject({ errors: [{ pointer: "/config/connector_id" }] });
  });

  it("a query past the connector's timeout, or past the node's own timeout, is TIMEOUT; an unreachable source NETWORK_ERROR", async () => {
    const { admin } = await seedTenant();
    const inst = await instanceOf(admin);
    const quick = await connector(admin, { query_timeout_seconds: 1 });
    const byConnector = await expectNodeError(runNode(dataNode, inst, { connector_id: quick, query: "select pg_sleep(5)" }), "TIMEOUT");
    expect(byConnector.details).toMatchObject({ kind: "timeout", sqlstate: "57014" });

    const patient = await connector(admin, { query_timeout_seconds: 10 });
    const node = new AbortController();
    setTimeout(() => node.abort(), 300);
    const started = Date.now();
    await expectNodeError(runNode(dataNode, inst, { connector_id: patient, query: "select pg_sleep(3)" }, { signal: node.signal }), "TIMEOUT");
    expect(Date.now() - started).toBeLessThan(2500);

    const down = await connector(admin, { port: 9 });
    await expectNodeError(runNode(dataNode, inst, { connector_id: down, query: "select 1" }), "NETWORK_ERROR");
  });

  it("runs as the instance's actor: a viewer (no connector:execute) is FORBIDDEN, an instance without an actor too", async () => {
    const { admin, tenantId } = await seedTenant();
    const id = await connector(admin);
    const viewer = await seedUser(tenantId, "viewer");
    await expectNodeError(runNode(dataNode, await instanceOf(admin, viewer), { connector_id: id, query: "select 1" }), "FORBIDDEN");
    await expectNodeError(runNode(dataNode, await instanceOf(admin), { connector_id: id, query: "select 1" }, { actor: null }), "FORBIDDEN");
  });
});

describe("JUDGMENT node", () => {
  it("judges in-process as the actor: source workflow, workflow and instance recorded, cached by the workflow's id; a miss is 2 round trips, a hit 1", async () => {
    const { admin } = await seedTenant();
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const inst = await instanceOf(admin);
    const config = { ruleset_id: rulesetId, input_mapping: { line_code: "$.input.line_code", shift: "day", metrics: { defect_rate: "$.input.rate" }, context: { target_defect_rate: 0.05 } } };
    const input = { line_code: "L07", rate: 0.09 };
    const miss = await runNode(judgmentNode, inst, config, { input });
    expect(miss.error).toBeNull();
    expect(miss.result).toMatchObject({ result: "critical", methodUsed: "rule_only", source: "workflow", workflowId: inst.workflowId, workflowInstanceId: inst.instanceId, cacheHit: false, createdBy: admin.userId, traceId: inst.traceId });
    expect(miss.result.inputData).toEqual({ line_code: "L07", shift: "day", metrics: { defect_rate: 0.09 }, context: { target_defect_rate: 0.05 } });
    expect(miss.result.cacheKey).toMatch(new RegExp(`^judgment:${inst.workflowId}\\.${rulesetId}\\.rule_only:[0-9a-f]{64}$`));
    expect(await roundTrips(miss.requestId)).toEqual({ neon: 2, upstash: 2 });

    const hit = await runNode(judgmentNode, inst, config, { input });
    expect(hit.result).toMatchObject({ result: "critical", methodUsed: "cache", cacheHit: true, source: "workflow", workflowInstanceId: inst.instanceId });
    expect(await roundTrips(hit.requestId)).toEqual({ neon: 1, upstash: 1 });

    const [stored] = await runAs(db, as(admin.tenantId, admin.userId), [
      db.select({ id: judgmentExecutions.id }).from(judgmentExecutions).where(and(eq(judgmentExecutions.workflowInstanceId, inst.instanceId), eq(judgmentExecutions.source, "workflow"))),
    ] as const);
    expect(stored.map((r) => r.id).sort()).toEqual([miss.result.id, hit.result.id].sort());
  });

  it("another tenant's ruleset is NOT_FOUND; an operator may judge, a viewer is FORBIDDEN; a non-object input VALIDATION_ERROR", async () => {
    const { admin, tenantId } = await seedTenant();
    const other = await seedTenant();
    const foreign = await seedRuleset(other.admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const inst = await instanceOf(admin);
    const input = { input_mapping: defectInput(0.04) };
    const err = await expectNodeError(runNode(judgmentNode, inst, { ruleset_id: foreign, ...input }), "NOT_FOUND");
    expect(err.message).toContain(foreign);

    const own = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const operator = await seedUser(tenantId, "operator");
    const ok = await runNode(judgmentNode, await instanceOf(admin, operator), { ruleset_id: own, ...input });
    expect(ok.result).toMatchObject({ result: "normal", createdBy: operator.userId });
    const viewer = await seedUser(tenantId, "viewer");
    await expectNodeError(runNode(judgmentNode, await instanceOf(admin, viewer), { ruleset_id: own, ...input }), "FORBIDDEN");
    const notObject = await expectNodeError(runNode(judgmentNode, inst, { ruleset_id: own, input_mapping: "$.input.missing" }), "VALIDATION_ERROR");
    expect(notObject.details).toMatchObject({ errors: [{ pointer: "/config/input_mapping" }] });
  });
});

describe("DEPLOY node", () => {
  it("requests a draft deployment as the actor, audited with the instance's trace id, in one round trip; four eyes still hold", async () => {
    const { admin, approver, rs } = await rulesetWithVersions();
    const inst = await instanceOf(admin);
    const run = await runNode(deployNode, inst, { ruleset_id: rs.id, version: 2, canary_pct: 0.2 });
    expect(run.error).toBeNull();
    expect(run.result).toMatchObject({ rulesetId: rs.id, version: 2, status: "draft", canaryPct: 0.2, requestedBy: admin.userId, approverId: null });
    expect(run.result.changelog).toContain(inst.instanceId);
    expect((await roundTrips(run.requestId)).neon).toBe(1);
    const audit = await auditRows(admin, run.result.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: "deploy", actorId: admin.userId, actorType: "user", traceId: inst.traceId });
    // The requester (the instance's actor) may not approve; another user may.
    expect((await move(admin, run.result.id, "approve")).status).toBe(403);
    expect((await move(approver, run.result.id, "approve")).body.status).toBe("canary");
  });

  it("another tenant's ruleset and an unknown version are NOT_FOUND; an approver (no deployment:create) is FORBIDDEN", async () => {
    const { admin, approver, rs } = await rulesetWithVersions();
    const other = await seedTenant();
    await expectNodeError(runNode(deployNode, await instanceOf(other.admin), { ruleset_id: rs.id, version: 1 }), "NOT_FOUND");
    const inst = await instanceOf(admin);
    const missing = await expectNodeError(runNode(deployNode, inst, { ruleset_id: rs.id, version: 9 }), "NOT_FOUND");
    expect(missing.message).toContain("version 9");
    await expectNodeError(runNode(deployNode, await instanceOf(admin, approver), { ruleset_id: rs.id, version: 1 }), "FORBIDDEN");
    await expectNodeError(runNode(deployNode, inst, { ruleset_id: rs.id, version: 0 }), "VALIDATION_ERROR");
  });
});

describe("ROLLBACK node", () => {
  it("rolls back the active deployment (its rollback_to active again) in two round trips, audited; to_version must be what the rollback leaves", async () => {
    const { admin, approver, rs } = await rulesetWithVersions();
    const v1 = await deploy(admin, rs.id, { version: 1 });
    await move(approver, v1.id, "approve");
    const v2 = await deploy(admin, rs.id, { version: 2 });
    expect(v2.rollbackTo).toBe(1);
    await move(approver, v2.id, "approve");
    const inst = await instanceOf(admin);

    const wrong = await expectNodeError(runNode(rollbackNode, inst, { ruleset_id: rs.id, to_version: 2 }), "VALIDATION_ERROR");
    expect(wrong.message).toContain("leaves 1 active");
    const run = await runNode(rollbackNode, inst, { ruleset_id: rs.id, to_version: 1 });
    expect(run.error).toBeNull();
    expect(run.result).toMatchObject({ id: v2.id, status: "rolled_back", version: 2 });
    expect(run.result).not.toHaveProperty("otherCanary");
    // As the rollback route does: 2 Postgres, then the judgment-inputs generation bumped (1 Redis call), so the next judgment reads the move.
    expect(await roundTrips(run.requestId)).toEqual({ neon: 2, upstash: 1 });
    const listed = await callKept("GET", `/api/v1/factory/rules/deployments?rulesetId=${rs.id}&status=active`, { token: admin.bearer });
    expect(listed.body.items.map((d: { version: number }) => d.version)).toEqual([1]);
    expect((await auditRows(admin, v2.id)).map((a) => a.action)).toContain("rollback");
    expect((await auditRows(admin, v2.id)).find((a) => a.action === "rollback")).toMatchObject({ actorId: admin.userId, traceId: inst.traceId });
  });

  it("another tenant's ruleset is NOT_FOUND, nothing live VALIDATION_ERROR, an operator (no deployment:rollback) FORBIDDEN", async () => {
    const { admin, tenantId, rs } = await rulesetWithVersions();
    const other = await seedTenant();
    await expectNodeError(runNode(rollbackNode, await instanceOf(other.admin), { ruleset_id: rs.id }), "NOT_FOUND");
    await expectNodeError(runNode(rollbackNode, await instanceOf(admin), { ruleset_id: rs.id }), "VALIDATION_ERROR");
    const operator = await seedUser(tenantId, "operator");
    await expectNodeError(runNode(rollbackNode, await instanceOf(admin, operator), { ruleset_id: rs.id }), "FORBIDDEN");
  });
});

describe("SIMULATE node", () => {
  it("evaluates a version over the ruleset's stored inputs beside the active version, in one read-only round trip", async () => {
    const { admin } = await seedTenant();
    // Active: the §5.2 thresholds; version 2 (drafted only): critical above 130%, warning above 110% of the target.
    const rulesetId = await seedRuleset(admin, [
      { version: 1, script: DEFECT_RATE_SCRIPT },
      { version: 2, script: thresholds(1.3, 1.1), status: "draft" },
    ]);
    for (const rate of [0.04, 0.058, 0.07, 0.09, 0.04]) {
      const res = await execute(admin, { inputData: defectInput(rate), rulesetId });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    const inst = await instanceOf(admin);
    const count = async () => (await runAs(db, as(admin.tenantId, admin.userId), [db.select({ n: sql<number>`count(*)::int` }).from(judgmentExecutions)] as const))[0][0]!.n;
    const before = await count();

    const run = await runNode(simulateNode, inst, { ruleset_id: rulesetId, version: 2 });
    expect(run.error).toBeNull();
    // The repeated 0.04 was a cache hit: not a stored input of its own.
    expect(run.result).toMatchObject({ version: 2, active_version: 1, evaluated: 4, distribution: { critical: 2, warning: 1, normal: 1, unknown: 0 }, changed_vs_active: 2 });
    expect(run.result.examples.map((e: { input_data: { metrics: { defect_rate: number } }; result: string; active_result: string }) => [e.input_data.metrics.defect_rate, e.result, e.active_result])).toEqual([
      [0.07, "critical", "warning"],
      [0.058, "warning", "normal"],
    ]);
    expect((await roundTrips(run.requestId)).neon).toBe(1);
    expect(await count()).toBe(before);

    const newest = await runNode(simulateNode, inst, { ruleset_id: rulesetId, version: 1, sample: { limit: 2 } });
    expect(newest.result).toMatchObject({ evaluated: 2, changed_vs_active: 0, distribution: { critical: 1, warning: 1, normal: 0, unknown: 0 } });
    const none = await runNode(simulateNode, inst, { ruleset_id: rulesetId, version: 2, sample: { since: new Date(Date.now() + 60_000).toISOString() } });
    expect(none.result).toMatchObject({ evaluated: 0, changed_vs_active: 0, examples: [] });
  });

  it("another tenant's ruleset and an unknown version are NOT_FOUND; a limit above 1000 VALIDATION_ERROR", async () => {
    const { admin } = await seedTenant();
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const other = await seedTenant();
    await expectNodeError(runNode(simulateNode, await instanceOf(other.admin), { ruleset_id: rulesetId, version: 1 }), "NOT_FOUND");
    const inst = await instanceOf(admin);
    await expectNodeError(runNode(simulateNode, inst, { ruleset_id: rulesetId, version: 7 }), "NOT_FOUND");
    const tooMany = await expectNodeError(runNode(simulateNode, inst, { ruleset_id: rulesetId, version: 1, sample: { limit: 1001 } }), "VALIDATION_ERROR");
    expect(tooMany.details).toMatchObject({ errors: [{ pointer: "/config/sample/limit" }] });
  });
});
