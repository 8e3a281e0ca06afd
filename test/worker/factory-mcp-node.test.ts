import Ajv from "ajv";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { nodeContextFor } from "../../src/factory/workflow-context";
import { mcpNode } from "../../src/factory/workflow-nodes/mcp";
import type { NodeContext } from "../../src/factory/workflow-nodes/types";
import { NodeError } from "../../src/factory/workflow-errors";
import { servicePrincipal } from "../../src/platform/auth";
import { runAs } from "../../src/platform/db";
import { testEnv } from "./helpers";
import { as, db, seedTenant, seedUser, type FactoryUser } from "./factory-helpers";
import { callKept as call, searchForSecrets } from "./factory-connectors-helpers";
import { BASE, control, freshKey, registered, serverBody, stats } from "./factory-mcp-helpers";

searchForSecrets();

const service = servicePrincipal(crypto.randomUUID());

/** A workflow and a running instance of it, test-side (the engine's rows), for the call log's instance id. */
async function instanceOf(tenantId: string, createdBy: string) {
  const [rows] = await runAs(db, service, [
    db.execute<{ workflow_id: string; instance_id: string }>(sql`
      with w as (
        insert into factory.workflows (tenant_id, name, dsl_json, dsl_digest, created_by)
        values (${tenantId}::uuid, ${`wf-${crypto.randomUUID()}`}, '{}'::jsonb, 'test', ${createdBy}::uuid) returning id
      )
      insert into factory.workflow_instances (workflow_id, tenant_id, status, trigger_type, triggered_by, trace_id)
      select w.id, ${tenantId}::uuid, 'RUNNING', 'manual', ${createdBy}::uuid, 'trace-node-test' from w
      returning workflow_id, id as instance_id`),
  ] as const);
  return rows.rows[0]!;
}

/** A node context as the engine builds it (nodeContextFor): the instance's actor runs the batches. */
function contextOf(actor: FactoryUser, ids: { workflow_id: string; instance_id: string }, variables: Record<string, unknown>, timeoutMs = 20_000): NodeContext {
  return nodeContextFor(testEnv, {
    tenantId: actor.tenantId,
    actorUserId: actor.userId,
    workflowId: ids.workflow_id,
    instanceId: ids.instance_id,
    nodeId: "call_tool",
    traceId: "trace-node-test",
    variables: { input: variables, global: {}, nodes: {} },
    signal: AbortSignal.timeout(timeoutMs),
  });
}

describe("factory MCP: the workflow node (workflow-nodes/mcp.ts) against the real MCP server", () => {
  it("calls the tool by server and name as the instance's actor (an operator: workflow permissions only), logged with the instance id", async () => {
    const { tenantId, admin } = await seedTenant();
    const operator = await seedUser(tenantId, "operator");
    const key = freshKey(true);
    const { server, tools } = await registered(admin, serverBody(key, "legacy_sse", { circuit_breaker: { failure_threshold: 1, cooldown_seconds: 60 }, max_retries: 0 }));
    const ids = await instanceOf(tenantId, operator.userId);
    const ctx = contextOf(operator, ids, { a: 20, b: 22 });
    const result = await mcpNode(ctx, { server_id: server.id, tool: "add", arguments: { a: "$.input.a", b: "$.input.b" } });
    expect(result).toMatchObject({ structuredContent: { sum: 42 } });
    const logs = await call("GET", `${BASE}/tools/${tools.add!.id}/calls`, { token: admin.bearer });
    expect(logs.body.items).toMatchObject([{ workflowInstanceId: ids.instance_id, traceId: "trace-node-test", inputData: { a: 20, b: 22 }, success: true }]);

    // A failure the operator's call records in the breaker (0019 lets workflow writers move only its columns).
    await control(key, { down: true });
    const failure = await mcpNode(ctx, { server_id: server.id, tool: "echo", arguments: { text: "x" } }).catch((e) => e);
    expect(failure).toBeInstanceOf(NodeError);
    expect(failure).toMatchObject({ code: "NETWORK_ERROR", details: { upstreamStatus: 503, circuitState: "open" } });
    const open = await mcpNode(ctx, { server_id: server.id, tool: "echo", arguments: { text: "x" } }).catch((e) => e);
    expect(open).toMatchObject({ code: "CIRCUIT_OPEN", details: { serverId: server.id } });
  });

  it("maps refusals to the contract's error codes: bad arguments, unknown tool, bad config, timeout", async () => {
    const { tenantId, admin } = await seedTenant();
    const key = freshKey();
    const { server } = await registered(admin, serverBody(key, "streamable_http", { timeout_ms: 300, max_retries: 0 }));
    const ids = await instanceOf(tenantId, admin.userId);
    const ctx = contextOf(admin, ids, {});
    await expect(mcpNode(ctx, { server_id: server.id, tool: "add", arguments: { a: 1 } })).rejects.toMatchObject({ code: "VALIDATION_ERROR", details: { faults: [{ pointer: "", message: expect.stringContaining("b") }] } });
    await expect(mcpNode(ctx, { server_id: server.id, tool: "nope" })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(mcpNode(ctx, { server_id: "not-a-uuid", tool: "add" })).rejects.toMatchObject({ code: "VALIDATION_ERROR" });
    await control(key, { slowFirst: 5, slowMs: 2000 });
    await expect(mcpNode(ctx, { server_id: server.id, tool: "slow", arguments: { label: "t" } })).rejects.toMatchObject({ code: "TIMEOUT" });
    // The node's own deadline (its AbortSignal) stops the call too.
    const short = contextOf(admin, ids, {}, 100);
    await control(key, { slowFirst: 100, slowMs: 2000 });
    await expect(mcpNode({ ...short }, { server_id: server.id, tool: "slow", arguments: { label: "u" } })).rejects.toMatchObject({ code: "TIMEOUT" });
    expect((await stats(key)).calls.slow).toBe(2);
  });

  it("ajv is the stub in this Worker (it compiles with new Function, which workerd refuses): constructing it throws, and calls above validated with @cfworker/json-schema", () => {
    expect(() => new (Ajv as unknown as new () => unknown)()).toThrow(/ajv is not available in this Worker/);
  });
});
