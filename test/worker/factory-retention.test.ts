import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import worker from "../../functions/worker";
import { applyRetention } from "../../src/factory/retention";
import { DAILY } from "../../src/platform/system";
import { call, expectProblem, testEnv } from "./helpers";
import { seedTenant } from "./factory-helpers";
import { service, workflow } from "./factory-monitoring-helpers";

const DAY = 86_400;

/**
 * One tenant's rows of every kind retention touches, at ages around its cutoffs (days): judgments
 * at 40 (plain, with feedback, with a learning sample, with a cache mirror row, named by an LLM
 * call of 15 days) and 20; LLM calls at 25 and 15; MCP call logs and workflow step logs at 11 and 9.
 */
async function fill(tenantId: string, adminId: string) {
  const id = () => crypto.randomUUID();
  const j = { old: [id(), id(), id()], feedback: id(), sample: id(), mirrored: id(), called: id(), recent: id() };
  const llm = { old: id(), recent: id(), calling: id() };
  const { workflowId, stepId } = await workflow(tenantId);
  const instance = id();
  const server = id();
  const tool = id();
  const logs = { old: id(), recent: id() };
  const mcp = { old: id(), recent: id() };
  const ago = (days: number) => sql`now() - make_interval(secs => ${days * DAY})`;
  const judgment = (jid: string, days: number) =>
    sql`insert into factory.judgment_executions (id, tenant_id, source, input_data, result, method_used, trace_id, created_at)
        values (${jid}::uuid, ${tenantId}::uuid, 'api', '{}', 'normal', 'rule_only', 'retention', ${ago(days)})`;
  const llmCall = (lid: string, days: number, judgmentId: string | null = null) =>
    sql`insert into factory.llm_calls (id, tenant_id, judgment_execution_id, call_type, model, prompt_tokens, completion_tokens, total_tokens, created_at)
        values (${lid}::uuid, ${tenantId}::uuid, ${judgmentId}::uuid, 'judgment', 'm', 1, 1, 2, ${ago(days)})`;
  await service(
    ...[...j.old, j.feedback, j.sample, j.mirrored, j.called].map((jid) => judgment(jid, 40)),
    judgment(j.recent, 20),
    sql`insert into factory.feedbacks (tenant_id, judgment_execution_id, user_id, feedback_type) values (${tenantId}::uuid, ${j.feedback}::uuid, ${adminId}::uuid, 'correct')`,
    sql`insert into factory.learning_samples (tenant_id, judgment_execution_id, input_features, label, source) values (${tenantId}::uuid, ${j.sample}::uuid, '{}', '{}', 'feedback')`,
    sql`insert into factory.judgment_cache (tenant_id, cache_key, judgment_execution_id, input_hash, result, expires_at)
        values (${tenantId}::uuid, ${`k-${id()}`}, ${j.mirrored}::uuid, 'h', 'normal', ${ago(39)})`,
    llmCall(llm.old, 25),
    llmCall(llm.recent, 15),
    llmCall(llm.calling, 15, j.called),
    sql`insert into factory.workflow_instances (id, workflow_id, tenant_id, status, trigger_type, trace_id, started_at)
        values (${instance}::uuid, ${workflowId}::uuid, ${tenantId}::uuid, 'COMPLETED', 'api', 'retention', ${ago(12)})`,
    sql`insert into factory.workflow_execution_logs (id, instance_id, step_id, node_id, status, started_at)
        values (${logs.old}::uuid, ${instance}::uuid, ${stepId}::uuid, 'n1', 'COMPLETED', ${ago(11)}), (${logs.recent}::uuid, ${instance}::uuid, ${stepId}::uuid, 'n1', 'COMPLETED', ${ago(9)})`,
    sql`insert into factory.mcp_servers (id, tenant_id, name, endpoint, config) values (${server}::uuid, ${tenantId}::uuid, 'mes', 'e', '{}')`,
    sql`insert into factory.mcp_tools (id, mcp_server_id, tool_name, input_schema) values (${tool}::uuid, ${server}::uuid, 't', '{}')`,
    sql`insert into factory.mcp_call_logs (id, tenant_id, mcp_tool_id, input_data, created_at)
        values (${mcp.old}::uuid, ${tenantId}::uuid, ${tool}::uuid, '{}', ${ago(11)}), (${mcp.recent}::uuid, ${tenantId}::uuid, ${tool}::uuid, '{}', ${ago(9)})`,
  );
  return { j, llm, logs, mcp, instance };
}

/** The tenant's ids left in each table retention touches, and where the LLM call of 15 days points. */
async function left(tenantId: string) {
  const ids = async (query: ReturnType<typeof sql>) => ((await service(query))[0]!.rows as { id: string }[]).map((r) => r.id).sort();
  return {
    judgments: await ids(sql`select id from factory.judgment_executions where tenant_id = ${tenantId}::uuid`),
    llmCalls: await ids(sql`select id from factory.llm_calls where tenant_id = ${tenantId}::uuid`),
    mcpLogs: await ids(sql`select id from factory.mcp_call_logs where tenant_id = ${tenantId}::uuid`),
    stepLogs: await ids(sql`select l.id from factory.workflow_execution_logs l join factory.workflow_instances i on i.id = l.instance_id where i.tenant_id = ${tenantId}::uuid`),
    mirrors: await ids(sql`select id from factory.judgment_cache where tenant_id = ${tenantId}::uuid`),
    instances: await ids(sql`select id from factory.workflow_instances where tenant_id = ${tenantId}::uuid`),
    callRefs: ((await service(sql`select judgment_execution_id as id from factory.llm_calls where tenant_id = ${tenantId}::uuid and judgment_execution_id is not null`))[0]!.rows as { id: string }[]).map((r) => r.id),
  };
}

const RETENTION = { data_retention: { raw_logs_days: 10, judgment_logs_days: 30, llm_calls_days: 20 } };

describe("retention (§2.1 data_retention)", () => {
  it("deletes what is older than each tenant's days in bounded batches, keeps judgments with feedback or samples, leaves no dangling key, and is idempotent", async () => {
    const a = await seedTenant({ settings: RETENTION });
    const b = await seedTenant();
    const rows = await fill(a.tenantId, a.admin.userId);
    const others = await fill(b.tenantId, b.admin.userId);
    const before = await left(b.tenantId);

    // One round of at most two rows per table: bounded.
    const first = await applyRetention(testEnv, 2, 1);
    expect(first.rounds).toBe(1);
    const partial = await left(a.tenantId);
    expect(partial.judgments).toHaveLength(8 - 2);

    // The daily cron finishes it; two overlapping runs delete each row once and fail on nothing.
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: DAILY, scheduledTime: Date.now() }), testEnv as never, ctx);
    await waitOnExecutionContext(ctx);
    await Promise.all([applyRetention(testEnv), applyRetention(testEnv)]);

    const kept = await left(a.tenantId);
    expect(kept.judgments).toEqual([rows.j.feedback, rows.j.sample, rows.j.recent].sort());
    expect(kept.llmCalls).toEqual([rows.llm.recent, rows.llm.calling].sort());
    // The call outlives its judgment: it stays, without the reference.
    expect(kept.callRefs).toEqual([]);
    expect(kept.mirrors).toEqual([]);
    expect(kept.mcpLogs).toEqual([rows.mcp.recent]);
    expect(kept.stepLogs).toEqual([rows.logs.recent]);
    expect(kept.instances).toEqual([rows.instance]);

    // The other tenant's §2.1 defaults (90, 730, 180 days) keep all of its rows.
    expect(await left(b.tenantId)).toEqual(before);
    expect(before.judgments).toHaveLength(8);
    expect(before.callRefs).toEqual([others.j.called]);

    // Idempotent: nothing more goes.
    const again = await applyRetention(testEnv);
    expect(again.rounds).toBe(1);
    expect(await left(a.tenantId)).toEqual(kept);
  });

  it("PATCH /tenant takes data_retention in whole days only", async () => {
    const { admin } = await seedTenant();
    for (const bad of [{ judgment_logs_days: 0 }, { llm_calls_days: 1.5 }, { raw_logs_days: "90" }, { audit_days: 30 }]) {
      const res = await call("PATCH", "/api/v1/factory/tenant", { token: admin.bearer, body: { settings: { data_retention: bad } } });
      expectProblem(res, 422, "validation_failed");
      expect(JSON.stringify(res.body)).toContain("data_retention");
    }
    const ok = await call("PATCH", "/api/v1/factory/tenant", { token: admin.bearer, body: { settings: RETENTION } });
    expect(ok.status).toBe(200);
    expect(ok.body.settings).toMatchObject(RETENTION);
  });
});
