import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import * as f from "../../src/factory/schema";
import { runAs } from "../../src/platform/db";
import type { Principal } from "../../src/platform/auth";
import { call, expectProblem } from "./helpers";
import { as, bearerOf, createdTenant, db, seedUser } from "./factory-helpers";

type TableName = keyof typeof f.FACTORY_TABLES;

/** One row in every factory table for the tenant, written as its admin; returns each table's row ids. */
async function fillEveryTable(tenantId: string, adminId: string): Promise<Record<TableName, string[]>> {
  const id = () => crypto.randomUUID();
  const ids = {
    workflow: id(), step: id(), instance: id(), log: id(), judgment: id(), cache: id(), ruleset: id(), script: id(), deployment: id(),
    conflict: id(), feedback: id(), sample: id(), candidate: id(), job: id(), template: id(), body: id(), llm: id(), chat: id(),
    intent: id(), message: id(), connector: id(), server: id(), tool: id(), mcpLog: id(),
  };
  const t = { tenantId };
  await runAs(db, as(tenantId, adminId), [
    db.insert(f.workflows).values({ id: ids.workflow, ...t, name: "wf", dslJson: {}, dslDigest: "d" }),
    db.insert(f.workflowSteps).values({ id: ids.step, workflowId: ids.workflow, stepOrder: 1, nodeId: "n1", nodeType: "DATA", config: {} }),
    db.insert(f.workflowInstances).values({ id: ids.instance, workflowId: ids.workflow, ...t, status: "PENDING", triggerType: "manual", traceId: "t" }),
    db.insert(f.workflowExecutionLogs).values({ id: ids.log, instanceId: ids.instance, stepId: ids.step, nodeId: "n1", status: "PENDING" }),
    db.insert(f.judgmentExecutions).values({ id: ids.judgment, ...t, source: "api", inputData: { line: "L01" }, result: "normal", methodUsed: "rule_only", traceId: "t" }),
    db.insert(f.judgmentCache).values({ id: ids.cache, ...t, cacheKey: "k", judgmentExecutionId: ids.judgment, inputHash: "h", result: "normal", expiresAt: new Date() }),
    db.insert(f.rulesets).values({ id: ids.ruleset, ...t, name: "rs", targetKpi: "defect_rate" }),
    db.insert(f.ruleScripts).values({ id: ids.script, rulesetId: ids.ruleset, version: 1, script: "x", scriptHash: "h" }),
    db.insert(f.ruleDeployments).values({ id: ids.deployment, ...t, rulesetId: ids.ruleset, version: 1, changelog: "c" }),
    db.insert(f.ruleConflicts).values({ id: ids.conflict, ...t, rulesetId: ids.ruleset, ruleVersion1: 1, ruleVersion2: 2, conflictType: "output_conflict", description: "d", severity: "high" }),
    db.insert(f.feedbacks).values({ id: ids.feedback, ...t, judgmentExecutionId: ids.judgment, userId: adminId, feedbackType: "correct" }),
    db.insert(f.learningSamples).values({ id: ids.sample, ...t, inputFeatures: {}, label: {}, source: "manual" }),
    db.insert(f.autoRuleCandidates).values({ id: ids.candidate, ...t, generatedRule: "x", generationMethod: "llm" }),
    db.insert(f.modelTrainingJobs).values({ id: ids.job, ...t, jobType: "rule_learning", trainingConfig: {} }),
    db.insert(f.promptTemplates).values({ id: ids.template, ...t, name: "p", purpose: "judge", version: 1, templateType: "judgment", modelConfig: {}, variables: {} }),
    db.insert(f.promptTemplateBodies).values({ id: ids.body, templateId: ids.template, systemPrompt: "s", userPromptTemplate: "u" }),
    db.insert(f.llmCalls).values({ id: ids.llm, ...t, callType: "judgment", model: "m", promptTokens: 1, completionTokens: 1, totalTokens: 2 }),
    db.insert(f.chatSessions).values({ id: ids.chat, ...t, userId: adminId }),
    db.insert(f.intentLogs).values({ id: ids.intent, ...t, userQuery: "q", predictedIntent: "i" }),
    db.insert(f.chatMessages).values({ id: ids.message, sessionId: ids.chat, role: "user", content: "c", intentLogId: ids.intent }),
    db.insert(f.dataConnectors).values({ id: ids.connector, ...t, name: "mes", type: "postgres", config: {} }),
    db.insert(f.mcpServers).values({ id: ids.server, ...t, name: "mcp", endpoint: "e", config: {} }),
    db.insert(f.mcpTools).values({ id: ids.tool, mcpServerId: ids.server, toolName: "t", inputSchema: {} }),
    db.insert(f.mcpCallLogs).values({ id: ids.mcpLog, ...t, mcpToolId: ids.tool, inputData: {} }),
  ] as const);
  const [audit] = await runAs(db, as(tenantId, adminId), [db.select({ id: f.auditLogs.id }).from(f.auditLogs).where(sql`${f.auditLogs.tenantId} = ${tenantId}`)] as const);
  return {
    tenants: [tenantId], users: [adminId], workflows: [ids.workflow], workflow_steps: [ids.step], workflow_instances: [ids.instance],
    workflow_execution_logs: [ids.log], judgment_executions: [ids.judgment], judgment_cache: [ids.cache], rulesets: [ids.ruleset],
    rule_scripts: [ids.script], rule_deployments: [ids.deployment], rule_conflicts: [ids.conflict], feedbacks: [ids.feedback],
    learning_samples: [ids.sample], auto_rule_candidates: [ids.candidate], model_training_jobs: [ids.job], prompt_templates: [ids.template],
    prompt_template_bodies: [ids.body], llm_calls: [ids.llm], chat_sessions: [ids.chat], intent_logs: [ids.intent], chat_messages: [ids.message],
    data_connectors: [ids.connector], mcp_servers: [ids.server], mcp_tools: [ids.tool], mcp_call_logs: [ids.mcpLog], audit_logs: audit.map((r) => r.id),
  };
}

/** How many of each table's `ids` the principal sees, and how many rows of the table it sees at all, reading straight as app_api. */
async function visible(who: Principal | null, ids: Record<TableName, string[]>) {
  const names = Object.keys(f.FACTORY_TABLES) as TableName[];
  const results = await runAs(
    db,
    who,
    names.map((name) =>
      db.execute<{ mine: number; total: number }>(
        sql`select count(*) filter (where id = any(${`{${ids[name].join(",")}}`}::uuid[]))::int as mine, count(*)::int as total from ${sql.identifier("factory")}.${sql.identifier(name)}`,
      ),
    ) as never,
  );
  return Object.fromEntries(names.map((name, i) => [name, (results as unknown as { rows: { mine: number; total: number }[] }[])[i]!.rows[0]!]));
}

describe("factory tenant isolation", () => {
  it("TC-SEC-001: another tenant reads every factory table directly as app_api and through the API, and finds nothing", async () => {
    const a = await createdTenant();
    const b = await createdTenant();
    const aViewer = await seedUser(a.tenantId, "viewer");
    const ids = await fillEveryTable(a.tenantId, a.admin.userId);
    const names = Object.keys(f.FACTORY_TABLES);
    expect(names).toHaveLength(27);

    // Tenant A sees each of its rows (so the check below could fail).
    const seenByA = await visible(as(a.tenantId, a.admin.userId), ids);
    expect(Object.entries(seenByA).filter(([, v]) => v.mine === 0).map(([name]) => name)).toEqual([]);

    // Tenant B's admin sees none of them, and nothing in any table but its own tenant, users and audit rows.
    const seenByB = await visible(as(b.tenantId, b.admin.userId), ids);
    expect(Object.entries(seenByB).filter(([, v]) => v.mine > 0).map(([name]) => name)).toEqual([]);
    const totals = Object.fromEntries(Object.entries(seenByB).map(([name, v]) => [name, v.total]));
    expect(totals).toEqual({ ...Object.fromEntries(names.map((n) => [n, 0])), tenants: 1, users: 1, audit_logs: 2 });

    // A's user ids with B's tenant in the token, no identity, or a tenant id that is no UUID: nothing either.
    for (const who of [as(b.tenantId, a.admin.userId), null, as("plant-7", a.admin.userId)]) {
      const seen = await visible(who, ids);
      expect(Object.entries(seen).filter(([name, v]) => v.mine > 0 || (name !== "tenants" && name !== "users" && v.total > 0)).map(([name]) => name)).toEqual([]);
    }

    // Writing into A as B is refused by WITH CHECK, whatever the table.
    await expect(runAs(db, as(b.tenantId, b.admin.userId), [db.insert(f.rulesets).values({ tenantId: a.tenantId, name: "x", targetKpi: "oee" })] as const)).rejects.toMatchObject({ code: "42501" });
    await expect(
      runAs(db, as(b.tenantId, b.admin.userId), [db.insert(f.ruleScripts).values({ rulesetId: ids.rulesets[0]!, version: 2, script: "x", scriptHash: "h" })] as const),
    ).rejects.toMatchObject({ code: "42501" });

    // Through the API.
    expectProblem(await call("GET", `/api/v1/factory/users/${aViewer.userId}`, { token: b.admin.bearer }), 404, "not_found");
    const users = await call("GET", "/api/v1/factory/users?limit=100", { token: b.admin.bearer });
    expect(users.body.items.map((u: { id: string }) => u.id)).toEqual([b.admin.userId]);
    const audit = await call("GET", "/api/v1/factory/audit-logs?limit=100", { token: b.admin.bearer });
    expect(audit.body.items.every((r: { tenantId: string }) => r.tenantId === b.tenantId)).toBe(true);
    expect(audit.body.items.map((r: { resourceId: string }) => r.resourceId)).not.toContain(a.tenantId);
    expect((await call("GET", "/api/v1/factory/tenant", { token: b.admin.bearer })).body.id).toBe(b.tenantId);
    expectProblem(await call("PATCH", `/api/v1/factory/users/${aViewer.userId}`, { token: b.admin.bearer, body: { role: "admin" } }), 404, "not_found");
    expectProblem(await call("POST", `/api/v1/factory/users/${aViewer.userId}/lock`, { token: b.admin.bearer }), 404, "not_found");
    // B's admin presenting A's tenant id is no user there.
    expectProblem(await call("GET", "/api/v1/factory/users", { token: await bearerOf(a.tenantId, b.admin.userId) }), 403, "user_unknown");
  });
});
