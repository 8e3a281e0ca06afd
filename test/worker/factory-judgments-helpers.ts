import { Redis } from "@upstash/redis/cloudflare";
import { expect } from "vitest";
import { runAs } from "../../src/platform/db";
import { sha256Hex } from "../../src/platform/canonical-json";
import { promptTemplateBodies, promptTemplates, ruleDeployments, rulesets, ruleScripts, workflows } from "../../src/factory/schema";
import { as, db, type FactoryUser } from "./factory-helpers";
import { call, testEnv } from "./helpers";

export { DEFECT_RATE_SCRIPT } from "../../scripts/lib/factory-seed";

/** Redis as it is, values unparsed: to check the exact keys, entries and TTLs the API writes. */
export const rawRedis = new Redis({ url: testEnv.REDIS_URL!, token: testEnv.UPSTASH_REDIS_REST_TOKEN!, automaticDeserialization: false, enableTelemetry: false });

/** §4.1's input_data example, with the defect rate and target a test needs. */
export function defectInput(defectRate: number, extra: Record<string, unknown> = {}, target: number | null = 0.05) {
  return {
    line_code: "L01",
    shift: "day",
    date: "2025-01-26",
    metrics: { defect_rate: defectRate, production_qty: 1500, cycle_time_avg: 45.2, oee: 0.78 },
    context: { previous_defect_rate: 0.045, ...(target === null ? {} : { target_defect_rate: target }), shift_supervisor: "김철수" },
    ...extra,
  };
}

export interface SeededDeployment {
  version: number;
  script: string;
  status?: "active" | "canary" | "draft";
  canaryPct?: number;
  canaryTargetFilter?: Record<string, unknown>;
}

/** A ruleset with script versions and their deployments, written test-side as the tenant's admin. */
export async function seedRuleset(admin: FactoryUser, deployments: SeededDeployment[]): Promise<string> {
  const principal = as(admin.tenantId, admin.userId);
  const [rows] = await runAs(db, principal, [
    db.insert(rulesets).values({ tenantId: admin.tenantId, name: `rules-${crypto.randomUUID()}`, targetKpi: "defect_rate", category: "quality", isActive: true, createdBy: admin.userId }).returning({ id: rulesets.id }),
  ] as const);
  const rulesetId = rows[0]!.id;
  for (const d of deployments) {
    await runAs(db, principal, [
      db.insert(ruleScripts).values({ rulesetId, version: d.version, script: d.script, scriptHash: await sha256Hex(d.script), compileStatus: "compiled", createdBy: admin.userId }),
      db.insert(ruleDeployments).values({
        tenantId: admin.tenantId,
        rulesetId,
        version: d.version,
        status: d.status ?? "active",
        canaryPct: d.canaryPct ?? null,
        canaryTargetFilter: d.canaryTargetFilter ?? null,
        changelog: `version ${d.version}`,
        deployedAt: new Date(Date.now() + d.version),
      }),
    ] as const);
  }
  return rulesetId;
}

/** A test prompt: it renders `{{llm_test}}` (the local LLM server's scenario marker) into the user prompt. */
export const TEST_USER_PROMPT = "Line {{input_data.line_code}}, defect rate {{input_data.metrics.defect_rate}}. {{llm_test}}{{#if rule_result}} Rules said {{rule_result.result}}.{{/if}}";

/** An active judgment prompt template of the tenant, written test-side as its admin. */
export async function seedPrompt(admin: FactoryUser, options: { name?: string; required?: string[]; group?: string | null; modelConfig?: Record<string, unknown>; version?: number; active?: boolean } = {}): Promise<string> {
  const principal = as(admin.tenantId, admin.userId);
  const [rows] = await runAs(db, principal, [
    db
      .insert(promptTemplates)
      .values({
        tenantId: admin.tenantId,
        name: options.name ?? "defect_judgment",
        purpose: "judge a line",
        version: options.version ?? 1,
        templateType: "judgment",
        modelConfig: options.modelConfig ?? { temperature: 0.3 },
        variables: { required: options.required ?? ["input_data", "llm_test"], optional: ["rule_result"] },
        isActive: options.active ?? true,
        aBTestGroup: options.group ?? null,
        createdBy: admin.userId,
      })
      .returning({ id: promptTemplates.id }),
  ] as const);
  const templateId = rows[0]!.id;
  await runAs(db, principal, [db.insert(promptTemplateBodies).values({ templateId, locale: "ko-KR", systemPrompt: "You judge production lines.", userPromptTemplate: TEST_USER_PROMPT })] as const);
  return templateId;
}

/** A workflow of the tenant, written test-side as its admin. */
export async function seedWorkflow(admin: FactoryUser): Promise<string> {
  const dsl = { name: "defect", nodes: [{ id: "judge", type: "JUDGMENT", config: {} }] };
  const [rows] = await runAs(db, as(admin.tenantId, admin.userId), [
    db.insert(workflows).values({ tenantId: admin.tenantId, name: `wf-${crypto.randomUUID()}`, dslJson: dsl, dslDigest: await sha256Hex(JSON.stringify(dsl)), createdBy: admin.userId }).returning({ id: workflows.id }),
  ] as const);
  return rows[0]!.id;
}

/** The local LLM server's marker: `script` as `<model>=<behaviour>,…` pairs. */
export const llmScenario = (script: string, extra = "") => `[[llm-test id=${crypto.randomUUID()} ${script} ${extra}]]`;

export const execute = (user: FactoryUser, body: Record<string, unknown>, headers: Record<string, string> = {}, env?: Record<string, string>) =>
  call("POST", "/api/v1/factory/judgments/execute", { token: user.bearer, body, headers, env });

export function expectCreated(result: { status: number; body: unknown }) {
  expect(result.status, JSON.stringify(result.body)).toBe(201);
}
