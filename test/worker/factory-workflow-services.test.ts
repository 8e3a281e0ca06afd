import { describe, expect, it } from "vitest";
import { nodeRequestId } from "../../src/factory/workflow-context";
import { seedTenant, type FactoryUser } from "./factory-helpers";
import { BASE as CONNECTORS, callKept, leaksIn, pgSource, searchForSecrets } from "./factory-connectors-helpers";
import { DEFECT_RATE_SCRIPT, defectInput, execute as judge, seedRuleset } from "./factory-judgments-helpers";
import { BASE as MCP, freshKey, registered, serverBody } from "./factory-mcp-helpers";
import { deploy, move, rulesetWithVersions, thresholds } from "./factory-rules-helpers";
import { call, roundTrips } from "./helpers";
import { ended, insertWorkflow, logsOf, started } from "./factory-workflow-helpers";

searchForSecrets();

/**
 * The service nodes (DATA, JUDGMENT, MCP, DEPLOY, ROLLBACK, SIMULATE) inside the engine, over HTTP:
 * each workflow created through POST /workflows (so the DSL validator accepts it), run through
 * POST /workflows/{id}/execute to COMPLETED, its log rows and results read through the API.
 * Direct handler tests: factory-workflow-nodes.test.ts, factory-mcp-node.test.ts.
 */

async function connector(admin: FactoryUser) {
  const res = await callKept("POST", CONNECTORS, { token: admin.bearer, body: { name: `c-${crypto.randomUUID()}`, type: "postgres", ...pgSource() } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

/** Runs a workflow to its end and checks it COMPLETED with every node's log row COMPLETED. */
async function completed(user: FactoryUser, workflowId: string, input: Record<string, unknown> = {}) {
  const done = await ended(user, await started(user, workflowId, input), 60_000);
  expect(done.status, JSON.stringify({ error: done.lastError, logs: done.logs })).toBe("COMPLETED");
  for (const log of done.logs) expect(log.status, `${log.nodeId}: ${log.errorMessage}`).toBe("COMPLETED");
  return done;
}

describe("workflow service nodes over HTTP", () => {
  it("DATA: a bound query on a Postgres connector; BI aggregates its rows; Postgres round trips per step", async () => {
    const { admin } = await seedTenant();
    const connectorId = await connector(admin);
    const workflowId = await insertWorkflow(admin, {
      variables: { input: { line_code: { type: "string", required: true } }, global: { min_defects: { type: "integer", default: 3 } } },
      nodes: [
        {
          id: "collect",
          type: "DATA",
          config: { connector_id: connectorId, query: "select id, line_code, defects from mes.production_rows where line_code = :line and defects >= :min order by id", params: { line: "$.input.line_code", min: "$.global.min_defects" }, max_rows: 3 },
        },
        { id: "stats", type: "BI", config: { source: "$.nodes.collect.result.rows", aggregates: [{ name: "n", op: "count" }, { name: "worst", op: "max", field: "defects" }] } },
      ],
    });
    const done = await completed(admin, workflowId, { line_code: "L02" });
    expect(done.runtimeContext.execution_path).toEqual(["collect", "stats"]);
    const collect = logsOf(done, "collect")[0];
    expect(collect.outputData).toMatchObject({ columns: ["id", "line_code", "defects"], rowCount: 3, truncated: true });
    expect(collect.outputData.rows.every((r: { line_code: string; defects: number }) => r.line_code === "L02" && r.defects >= 3)).toBe(true);
    expect(collect.inputData.params).toEqual({ line: "L02", min: 3 });
    expect(logsOf(done, "stats")[0].outputData).toMatchObject({ n: 3 });
    expect(leaksIn([JSON.stringify(done)])).toEqual([]);
    // The engine: begin, then one batch per node (its log row and the mirror). The DATA node's own
    // work: one round trip to load the connector (the query itself goes to the source over TCP).
    expect((await roundTrips(`wf-${done.id}`)).neon).toBe(3);
    expect((await roundTrips(nodeRequestId(done.id, "collect"))).neon).toBe(1);
    expect((await roundTrips(nodeRequestId(done.id, "stats"))).neon).toBe(0);
  });

  it("JUDGMENT: the judgment service in-process, as the instance's actor, source workflow", async () => {
    const { admin } = await seedTenant();
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const workflowId = await insertWorkflow(admin, {
      variables: { input: { line_code: { type: "string", required: true }, rate: { type: "number", required: true } } },
      nodes: [
        {
          id: "judge",
          type: "JUDGMENT",
          config: { ruleset_id: rulesetId, input_mapping: { line_code: "$.input.line_code", shift: "day", metrics: { defect_rate: "$.input.rate" }, context: { target_defect_rate: 0.05 } } },
        },
      ],
    });
    const done = await completed(admin, workflowId, { line_code: "L07", rate: 0.09 });
    const out = logsOf(done, "judge")[0].outputData;
    expect(out).toMatchObject({ result: "critical", methodUsed: "rule_only", source: "workflow", workflowId, workflowInstanceId: done.id, createdBy: admin.userId, traceId: done.traceId });
    const listed = await call("GET", `/api/v1/factory/judgments/${out.id}`, { token: admin.bearer });
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ workflowInstanceId: done.id, source: "workflow" });
    // A miss: the judgment's two round trips, under the node's request id.
    expect((await roundTrips(nodeRequestId(done.id, "judge"))).neon).toBe(2);
  });

  it("MCP: a tool call on a registered server, logged with the instance id and trace id", async () => {
    const { admin } = await seedTenant();
    const { server, tools } = await registered(admin, serverBody(freshKey(), "streamable_http", { max_retries: 0 }));
    const workflowId = await insertWorkflow(admin, {
      variables: { input: { a: { type: "number", required: true }, b: { type: "number", required: true } } },
      nodes: [{ id: "add", type: "MCP", config: { server_id: server.id, tool: "add", arguments: { a: "$.input.a", b: "$.input.b" } } }],
    });
    const done = await completed(admin, workflowId, { a: 20, b: 22 });
    expect(logsOf(done, "add")[0].outputData).toMatchObject({ structuredContent: { sum: 42 } });
    const logs = await call("GET", `${MCP}/tools/${tools.add!.id}/calls`, { token: admin.bearer });
    expect(logs.body.items).toMatchObject([{ workflowInstanceId: done.id, traceId: done.traceId, inputData: { a: 20, b: 22 }, success: true }]);
  });

  it("DEPLOY: requests a draft deployment as the instance's actor (four eyes: another user approves)", async () => {
    const { admin, approver, rs } = await rulesetWithVersions();
    const workflowId = await insertWorkflow(admin, { nodes: [{ id: "ship", type: "DEPLOY", config: { ruleset_id: rs.id, version: 2, canary_pct: 0.2 } }] });
    const done = await completed(admin, workflowId);
    const row = logsOf(done, "ship")[0].outputData;
    expect(row).toMatchObject({ rulesetId: rs.id, version: 2, status: "draft", canaryPct: 0.2, requestedBy: admin.userId });
    expect(row.changelog).toContain(done.id);
    expect((await move(admin, row.id, "approve")).status).toBe(403);
    expect((await move(approver, row.id, "approve")).body.status).toBe("canary");
  });

  it("ROLLBACK: the active deployment rolled back, its rollback_to active again", async () => {
    const { admin, approver, rs } = await rulesetWithVersions();
    const v1 = await deploy(admin, rs.id, { version: 1 });
    await move(approver, v1.id, "approve");
    const v2 = await deploy(admin, rs.id, { version: 2 });
    await move(approver, v2.id, "approve");
    const workflowId = await insertWorkflow(admin, { nodes: [{ id: "back", type: "ROLLBACK", config: { ruleset_id: rs.id, to_version: 1 } }] });
    const done = await completed(admin, workflowId);
    expect(logsOf(done, "back")[0].outputData).toMatchObject({ id: v2.id, status: "rolled_back", version: 2 });
    const active = await callKept("GET", `/api/v1/factory/rules/deployments?rulesetId=${rs.id}&status=active`, { token: admin.bearer });
    expect(active.body.items.map((d: { version: number }) => d.version)).toEqual([1]);
  });

  it("SIMULATE: a version evaluated over the ruleset's stored inputs, nothing written", async () => {
    const { admin } = await seedTenant();
    const rulesetId = await seedRuleset(admin, [
      { version: 1, script: DEFECT_RATE_SCRIPT },
      { version: 2, script: thresholds(1.3, 1.1), status: "draft" },
    ]);
    for (const rate of [0.04, 0.058, 0.07, 0.09]) expect((await judge(admin, { inputData: defectInput(rate), rulesetId })).status).toBe(201);
    const workflowId = await insertWorkflow(admin, { nodes: [{ id: "what_if", type: "SIMULATE", config: { ruleset_id: rulesetId, version: 2, sample: { limit: 100 } } }] });
    const done = await completed(admin, workflowId);
    expect(logsOf(done, "what_if")[0].outputData).toMatchObject({ version: 2, active_version: 1, evaluated: 4, distribution: { critical: 2, warning: 1, normal: 1, unknown: 0 }, changed_vs_active: 2 });
    expect((await roundTrips(nodeRequestId(done.id, "what_if"))).neon).toBe(1);
  });

  it("the saga across service nodes: a DATA node failing after a COMPENSATION runs its MCP undo, then the instance FAILS", async () => {
    const { admin } = await seedTenant();
    const connectorId = await connector(admin);
    const { server, tools } = await registered(admin, serverBody(freshKey(), "streamable_http", { max_retries: 0 }));
    const workflowId = await insertWorkflow(admin, {
      nodes: [
        { id: "collect", type: "DATA", config: { connector_id: connectorId, query: "select count(*)::int as n from mes.production_rows" } },
        { id: "undo_collect", type: "COMPENSATION", config: { target: "collect", do: { type: "MCP", config: { server_id: server.id, tool: "add", arguments: { a: "$.nodes.collect.result.rows[0].n", b: 1 } } } } },
        { id: "broken", type: "DATA", config: { connector_id: connectorId, query: "select 1 / 0 as boom" } },
      ],
    });
    const done = await ended(admin, await started(admin, workflowId), 60_000);
    expect(done).toMatchObject({ status: "FAILED", errorCode: "VALIDATION_ERROR" });
    expect(logsOf(done, "broken")[0]).toMatchObject({ status: "FAILED", errorCode: "VALIDATION_ERROR", retryAttempt: 0 });
    const n = logsOf(done, "collect")[0].outputData.rows[0].n as number;
    const undo = logsOf(done, "undo_collect").find((l) => l.metadata.phase === "compensate");
    expect(undo).toMatchObject({ status: "COMPLETED", metadata: { target: "collect", type: "MCP" }, outputData: { structuredContent: { sum: n + 1 } } });
    const calls = await call("GET", `${MCP}/tools/${tools.add!.id}/calls`, { token: admin.bearer });
    expect(calls.body.items).toMatchObject([{ workflowInstanceId: done.id, inputData: { a: n, b: 1 }, success: true }]);
  });
});
