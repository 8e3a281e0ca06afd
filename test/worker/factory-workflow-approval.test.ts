import { describe, expect, it } from "vitest";
import { eq, sql } from "drizzle-orm";
import { workflowExecutionLogs, workflowInstances } from "../../src/factory/schema";
import { runAs } from "../../src/platform/db";
import { as, createdTenant, db, seedUser } from "./factory-helpers";
import { call, expectProblem, roundTrips } from "./helpers";
import type { NodeConfig } from "../../src/factory/workflow-dsl-schema";
import { ended, insertWorkflow, logsOf, started, TICK_GLOBALS, tick, until } from "./factory-workflow-helpers";

const decide = (bearer: string, instanceId: string, body: Record<string, unknown>) =>
  call("POST", `/api/v1/factory/workflows/instances/${instanceId}/approval`, { token: bearer, body });

const approvalFlow = (config: Partial<NodeConfig<"APPROVAL">>) => ({
  variables: { global: TICK_GLOBALS },
  nodes: [{ id: "ask", type: "APPROVAL" as const, config: { message: "ship lot 42?", timeout_seconds: 60, ...config } }, tick("after")],
});

describe("workflow APPROVAL", () => {
  it("row-level security lets an approver do what the route does and no more: update a WAITING instance, which stays WAITING", async () => {
    const { tenantId, admin } = await createdTenant();
    const approver = await seedUser(tenantId, "approver");
    const waitingId = await started(admin, await insertWorkflow(admin, approvalFlow({})));
    await until(admin, waitingId, (b) => b.status === "WAITING");
    const doneId = await started(admin, await insertWorkflow(admin, { variables: { global: TICK_GLOBALS }, nodes: [tick("only")] }));
    expect((await ended(admin, doneId)).status).toBe("COMPLETED");
    const asApprover = as(tenantId, approver.userId);
    const I = workflowInstances;

    const [touched] = await runAs(db, asApprover, [db.update(I).set({ metadata: sql`${I.metadata} || '{"seen": true}'` }).where(eq(I.id, waitingId)).returning({ id: I.id })] as const);
    expect(touched).toHaveLength(1);
    const [finished] = await runAs(db, asApprover, [db.update(I).set({ lastError: "forged" }).where(eq(I.id, doneId)).returning({ id: I.id })] as const);
    expect(finished).toHaveLength(0);
    await expect(runAs(db, asApprover, [db.update(I).set({ status: "COMPLETED" }).where(eq(I.id, waitingId))] as const)).rejects.toThrow(/row-level security/);
    const [row] = await runAs(db, asApprover, [db.select({ workflowId: I.workflowId, stepId: workflowExecutionLogs.stepId }).from(I).innerJoin(workflowExecutionLogs, eq(workflowExecutionLogs.instanceId, I.id)).where(eq(I.id, waitingId))] as const);
    await expect(
      runAs(db, asApprover, [db.insert(I).values({ workflowId: row[0]!.workflowId, tenantId, status: "PENDING", triggerType: "manual", traceId: "forged" })] as const),
    ).rejects.toThrow(/row-level security/);
    await expect(
      runAs(db, asApprover, [db.insert(workflowExecutionLogs).values({ instanceId: waitingId, stepId: row[0]!.stepId, nodeId: "ask", status: "COMPLETED" })] as const),
    ).rejects.toThrow(/row-level security/);
    const [logs] = await runAs(db, asApprover, [db.update(workflowExecutionLogs).set({ errorMessage: "forged" }).where(eq(workflowExecutionLogs.instanceId, waitingId)).returning({ id: workflowExecutionLogs.id })] as const);
    expect(logs).toHaveLength(0);
  });

  it("waits (WAITING) until an approver approves through the API; the operator who started it may not decide", async () => {
    const { tenantId, admin } = await createdTenant();
    const operator = await seedUser(tenantId, "operator");
    const approver = await seedUser(tenantId, "approver");
    const workflowId = await insertWorkflow(admin, approvalFlow({}));
    const id = await started(operator, workflowId);
    const waiting = await until(approver, id, (b) => b.status === "WAITING");
    expect(waiting).toMatchObject({ currentNodeId: "ask", metadata: { approval: { node_id: "ask", message: "ship lot 42?", decision: null } } });
    expect(logsOf(waiting, "ask")[0].status).toBe("RUNNING");

    expectProblem(await decide(operator.bearer, id, { decision: "approve" }), 403, "permission_missing");
    const res = await decide(approver.bearer, id, { decision: "approve", comment: "looks fine" });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.metadata.approval).toMatchObject({ decision: "approved", by: approver.userId, comment: "looks fine" });
    expect((await roundTrips(res.requestId)).neon).toBe(1);

    const done = await ended(approver, id);
    expect(done.status).toBe("COMPLETED");
    expect(logsOf(done, "ask")[0]).toMatchObject({ status: "COMPLETED", outputData: { decision: "approved", by: approver.userId, comment: "looks fine" } });
    expect(done.runtimeContext.execution_path).toEqual(["ask", "after"]);
    expectProblem(await decide(approver.bearer, id, { decision: "reject" }), 409, "invalid_state");
    const audit = await call("GET", `/api/v1/factory/audit-logs?resourceId=${id}`, { token: admin.bearer });
    expect(audit.body.items.map((a: any) => [a.action, a.actorId])).toEqual([["approve", approver.userId]]);
  });

  it("a rejection fails the node (REJECTED) and the instance", async () => {
    const { tenantId, admin } = await createdTenant();
    const approver = await seedUser(tenantId, "approver");
    const workflowId = await insertWorkflow(admin, approvalFlow({}));
    const id = await started(admin, workflowId);
    await until(admin, id, (b) => b.status === "WAITING");
    expect((await decide(approver.bearer, id, { decision: "reject", comment: "no" })).status).toBe(200);
    const done = await ended(admin, id);
    expect(done).toMatchObject({ status: "FAILED", errorCode: "REJECTED" });
    expect(logsOf(done, "ask")[0]).toMatchObject({ status: "FAILED", errorCode: "REJECTED", outputData: { decision: "rejected" } });
    expect(logsOf(done, "after")).toEqual([]);
  });

  it("times out per on_timeout: reject fails the instance, approve lets it go on; the result says timed_out", async () => {
    const { admin } = await createdTenant();
    const rejecting = await insertWorkflow(admin, approvalFlow({ timeout_seconds: 2 }));
    const approving = await insertWorkflow(admin, approvalFlow({ timeout_seconds: 2, on_timeout: "approve" }));
    const [r, a] = await Promise.all([started(admin, rejecting), started(admin, approving)]);
    const [rejected, approved] = await Promise.all([ended(admin, r), ended(admin, a)]);
    expect(rejected).toMatchObject({ status: "FAILED", errorCode: "REJECTED" });
    expect(logsOf(rejected, "ask")[0].outputData).toMatchObject({ decision: "timed_out", by: null });
    expect(approved.status).toBe("COMPLETED");
    expect(logsOf(approved, "ask")[0].outputData).toMatchObject({ decision: "timed_out" });
    expect(approved.metadata.approval.decision).toBe("timed_out");
  });

  it("an approval naming its approvers admits only them (403 not_an_approver for another approver)", async () => {
    const { tenantId, admin } = await createdTenant();
    const [one, two] = [await seedUser(tenantId, "approver"), await seedUser(tenantId, "approver")];
    const workflowId = await insertWorkflow(admin, approvalFlow({ approvers: { user_ids: [two.userId] } }));
    const id = await started(admin, workflowId);
    await until(admin, id, (b) => b.status === "WAITING");
    expectProblem(await decide(one.bearer, id, { decision: "approve" }), 403, "not_an_approver");
    expect((await decide(two.bearer, id, { decision: "approve" })).status).toBe(200);
    expect((await ended(admin, id)).status).toBe("COMPLETED");
  });

  it("refuses a bad body (422 naming the field) and an instance of another tenant (404)", async () => {
    const { tenantId, admin } = await createdTenant();
    const approver = await seedUser(tenantId, "approver");
    const workflowId = await insertWorkflow(admin, approvalFlow({}));
    const id = await started(admin, workflowId);
    await until(admin, id, (b) => b.status === "WAITING");
    const bad = await decide(approver.bearer, id, { decision: "maybe" });
    expectProblem(bad, 422, "validation_failed");
    expect(bad.body.errors[0].path).toContain("decision");
    const other = await createdTenant();
    expectProblem(await decide(other.admin.bearer, id, { decision: "approve" }), 404, "not_found");
    expect((await decide(approver.bearer, id, { decision: "reject" })).status).toBe(200);
    await ended(admin, id);
  });
});
