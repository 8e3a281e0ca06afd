import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { runAs } from "../../src/platform/db";
import { sql } from "drizzle-orm";
import { sweepWorkflowTimeouts } from "../../src/factory/workflow-timeouts";
import { as, createdTenant, db, seedUser } from "./factory-helpers";
import { call, expectProblem, roundTrips } from "./helpers";
import { actionUrl, ended, execute, insertWorkflow, instance, logsOf, receiverCalls, started, TICK_GLOBALS, tick, until } from "./factory-workflow-helpers";

const control = (bearer: string, instanceId: string, move: "pause" | "resume" | "cancel") =>
  call("POST", `/api/v1/factory/workflows/instances/${instanceId}/${move}`, { token: bearer });

const engineStatus = async (instanceId: string) => (await (await (env as any).FACTORY_WORKFLOW.get(instanceId)).status()).status as string;

const count = tick("tick");
const variables = { global: TICK_GLOBALS };

describe("workflow execution: input, controls, timeouts, TC-WF-001", () => {
  it("TC-WF-001: a long instance is checkpointed, paused in the middle, resumed, and completes with its state intact", async () => {
    const { admin } = await createdTenant();
    const key = crypto.randomUUID();
    const workflowId = await insertWorkflow(admin, {
      variables: { input: { rows: { type: "array", required: true } } },
      nodes: [
        { id: "collect", type: "BI", config: { source: "$.input.rows", group_by: ["line"], aggregates: [{ name: "defects", op: "sum", field: "d" }] } },
        { id: "long_wait", type: "WAIT", config: { seconds: 3 } },
        { id: "report", type: "ACTION", config: { url: actionUrl("ok", key), body: { collected: "$.nodes.collect.result", literal: "$$.nodes.collect" } } },
      ],
    });
    const rows = [{ line: "L01", d: 2 }, { line: "L02", d: 1 }, { line: "L01", d: 4 }];
    const id = await started(admin, workflowId, { rows });
    const checkpointed = await until(admin, id, (b) => b.checkpointData?.completed?.includes("collect"));
    expect(checkpointed.checkpointData).toMatchObject({ completed: ["collect"], next: ["long_wait"] });
    expect(checkpointed.currentNodeId).toBe("long_wait");

    const paused = await control(admin.bearer, id, "pause");
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    expect(paused.body.status).toBe("PAUSED");
    expect((await roundTrips(paused.requestId)).neon).toBe(1);
    await until(admin, id, () => true);
    await expect.poll(() => engineStatus(id), { timeout: 10_000 }).toBe("paused");
    // Longer than the WAIT: a running instance would have finished by now.
    await new Promise((r) => setTimeout(r, 4000));
    const still = (await instance(admin, id)).body;
    expect(still.status).toBe("PAUSED");
    expect(await receiverCalls(key)).toEqual([]);
    expect(still.runtimeContext.variables.nodes.collect.result).toEqual({ groups: [{ key: { line: "L01" }, defects: 6 }, { key: { line: "L02" }, defects: 1 }] });
    expectProblem(await control(admin.bearer, id, "pause"), 409, "invalid_state");

    const resumed = await control(admin.bearer, id, "resume");
    expect(resumed.status).toBe(200);
    expect(resumed.body.status).toBe("RUNNING");
    const done = await ended(admin, id);
    expect(done.status).toBe("COMPLETED");
    expect(done.runtimeContext.execution_path).toEqual(["collect", "long_wait", "report"]);
    expect(done.checkpointData.completed).toEqual(["collect", "long_wait", "report"]);
    const calls = await receiverCalls(key);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body.data.body).toEqual({ collected: { groups: [{ key: { line: "L01" }, defects: 6 }, { key: { line: "L02" }, defects: 1 }] }, literal: "$.nodes.collect" });
    const audit = await call("GET", `/api/v1/factory/audit-logs?resourceId=${id}`, { token: admin.bearer });
    expect(audit.body.items.map((a: any) => a.action).sort()).toEqual(["pause", "resume"]);
  });

  it("cancel ends the instance and terminates its Workflows instance; illegal moves are 409", async () => {
    const { admin } = await createdTenant();
    const workflowId = await insertWorkflow(admin, { variables, nodes: [count, { id: "nap", type: "WAIT", config: { seconds: 30 } }, tick("never")] });
    const id = await started(admin, workflowId);
    await until(admin, id, (b) => b.currentNodeId === "nap");
    expectProblem(await control(admin.bearer, id, "resume"), 409, "invalid_state");
    const res = await control(admin.bearer, id, "cancel");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "CANCELLED", errorCode: "CANCELLED" });
    expect(res.body.endedAt).not.toBeNull();
    await expect.poll(() => engineStatus(id), { timeout: 10_000 }).toBe("terminated");
    expectProblem(await control(admin.bearer, id, "cancel"), 409, "invalid_state");
    expectProblem(await control(admin.bearer, id, "pause"), 409, "invalid_state");
    expect(logsOf((await instance(admin, id)).body, "never")).toEqual([]);
  });

  it("TIMEOUT: the engine ends an instance past the workflow's timeout_seconds (a WAIT never sleeps past it)", async () => {
    const { admin } = await createdTenant();
    const workflowId = await insertWorkflow(admin, { variables, nodes: [count, { id: "nap", type: "WAIT", config: { seconds: 600 } }, tick("never")] }, { timeoutSeconds: 2 });
    const done = await ended(admin, await started(admin, workflowId), 20_000);
    expect(done).toMatchObject({ status: "TIMEOUT", errorCode: "TIMEOUT" });
    expect(done.durationMs).toBeGreaterThanOrEqual(2000);
    expect(done.durationMs).toBeLessThan(15_000);
  });

  it("TIMEOUT: the minute sweep ends a PAUSED instance past its deadline and terminates its Workflows instance", async () => {
    const { admin } = await createdTenant();
    const workflowId = await insertWorkflow(admin, { variables, nodes: [count, { id: "nap", type: "WAIT", config: { seconds: 600 } }] }, { timeoutSeconds: 3600 });
    const id = await started(admin, workflowId);
    await until(admin, id, (b) => b.currentNodeId === "nap");
    expect((await control(admin.bearer, id, "pause")).status).toBe(200);
    // As if it had started two hours ago.
    await runAs(db, as(admin.tenantId, admin.userId), [db.execute(sql`update factory.workflow_instances set started_at = now() - interval '2 hours' where id = ${id}::uuid`)] as const);
    const report = await sweepWorkflowTimeouts(env as never);
    expect(report.timedOut).toBeGreaterThanOrEqual(1);
    expect((await instance(admin, id)).body).toMatchObject({ status: "TIMEOUT", errorCode: "TIMEOUT" });
    await expect.poll(() => engineStatus(id), { timeout: 10_000 }).toBe("terminated");
  });

  it("execute checks the input against variables.input (422 naming it, nothing written)", async () => {
    const { admin } = await createdTenant();
    const workflowId = await insertWorkflow(admin, {
      variables: { ...variables, input: { line_code: { type: "string", required: true }, shift: { type: "string", required: true, enum: ["day", "night"] }, lot: { type: "integer" } } },
      nodes: [count],
    });
    const cases: [Record<string, unknown>, string, string][] = [
      [{ shift: "day" }, "json.input.line_code", "is required"],
      [{ line_code: "L01", shift: "evening" }, "json.input.shift", "must be one of"],
      [{ line_code: "L01", shift: "day", lot: 1.5 }, "json.input.lot", "must be an integer"],
      [{ line_code: 7, shift: "day" }, "json.input.line_code", "must be a string"],
      [{ line_code: "L01", shift: "day", extra: 1 }, "json.input.extra", "not a declared input variable"],
    ];
    for (const [input, path, message] of cases) {
      const res = await execute(admin, workflowId, input);
      expectProblem(res, 422, "validation_failed");
      expect(res.body.errors[0].path).toBe(path);
      expect(res.body.errors[0].message).toContain(message);
    }
    const list = await call("GET", `/api/v1/factory/workflows/${workflowId}/instances`, { token: admin.bearer });
    expect(list.body.items).toEqual([]);
  });

  it("lists a workflow's instances newest first, by status and in pages; one round trip per route; roles and tenants", async () => {
    const { tenantId, admin } = await createdTenant();
    const viewer = await seedUser(tenantId, "viewer");
    const operator = await seedUser(tenantId, "operator");
    const approver = await seedUser(tenantId, "approver");
    const workflowId = await insertWorkflow(admin, { variables, nodes: [count] });
    const res = await execute(operator, workflowId);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: "PENDING", triggerType: "manual", triggeredBy: operator.userId, workflowId });
    expect((await roundTrips(res.requestId)).neon).toBe(1);
    const first = await ended(operator, res.body.id);
    const second = await ended(operator, await started(operator, workflowId));
    expect([first.status, second.status]).toEqual(["COMPLETED", "COMPLETED"]);

    const page = await call("GET", `/api/v1/factory/workflows/${workflowId}/instances?limit=1&status=COMPLETED`, { token: viewer.bearer });
    expect(page.status).toBe(200);
    expect(page.body.items.map((i: any) => i.id)).toEqual([second.id]);
    expect((await roundTrips(page.requestId)).neon).toBe(1);
    const next = await call("GET", `/api/v1/factory/workflows/${workflowId}/instances?limit=1&status=COMPLETED&cursor=${page.body.nextCursor}`, { token: viewer.bearer });
    expect(next.body.items.map((i: any) => i.id)).toEqual([first.id]);
    expect((await call("GET", `/api/v1/factory/workflows/${workflowId}/instances?status=FAILED`, { token: viewer.bearer })).body.items).toEqual([]);
    const one = await instance(viewer, first.id);
    expect(one.body.logs.map((l: any) => [l.nodeId, l.status])).toEqual([["tick", "COMPLETED"]]);
    expect((await roundTrips(one.requestId)).neon).toBe(1);

    expectProblem(await execute(viewer, workflowId), 403, "permission_missing");
    expectProblem(await execute(approver, workflowId), 403, "permission_missing");
    expectProblem(await control(approver.bearer, first.id, "cancel"), 403, "permission_missing");

    const other = await createdTenant();
    expectProblem(await execute(other.admin, workflowId), 404, "not_found");
    expectProblem(await instance(other.admin, first.id), 404, "not_found");
    expectProblem(await call("GET", `/api/v1/factory/workflows/${workflowId}/instances`, { token: other.admin.bearer }), 404, "not_found");
    expectProblem(await control(other.admin.bearer, first.id, "pause"), 404, "not_found");
  });
});
