import { and, eq, inArray, sql, type SQL } from "drizzle-orm";
import type { Database } from "../platform/db";
import { judgmentCache, judgmentExecutions, llmCalls, promptTemplateBodies, promptTemplates, ruleDeployments, rulesets, ruleScripts, tenants, users, workflows } from "./schema";

/** Stands in for an id the request did not name: no row has it, so the statement reads nothing. */
const NO_ID = "00000000-0000-0000-0000-000000000000";

const isCallerTenant = sql`${tenants.id} = factory.caller_tenant()`;

/**
 * Everything a judgment reads before it runs, in the batch that authorizes it (docs/factory-judgments.md,
 * "Round trips"): the tenant's quota, settings and state, the caller's user row (groups for canary
 * filters; state, role and permissions for the cached inputs' refusal), the
 * workflow and ruleset it names, the ruleset's active and canary deployments with their scripts,
 * and the tenant's active judgment prompts with their bodies. Statements for parts the request
 * does not use read nothing; row-level security keeps every read inside the caller's tenant.
 */
export function judgmentInputs(db: Database, userId: string, need: { rulesetId?: string; workflowId?: string; prompts: boolean }) {
  const rulesetId = need.rulesetId ?? NO_ID;
  return [
    db.select({ name: tenants.name, status: tenants.status, limit: tenants.maxJudgmentsPerDay, settings: tenants.settings }).from(tenants).where(isCallerTenant),
    db
      .select({ username: users.username, status: users.status, role: users.role, permissions: users.permissions, groups: sql<unknown>`${users.metadata}->'user_groups'` })
      .from(users)
      .where(eq(users.id, userId)),
    db.select({ id: workflows.id }).from(workflows).where(eq(workflows.id, need.workflowId ?? NO_ID)),
    db.select({ id: rulesets.id, name: rulesets.name }).from(rulesets).where(eq(rulesets.id, rulesetId)),
    db
      .select({
        id: ruleDeployments.id,
        version: ruleDeployments.version,
        status: ruleDeployments.status,
        canaryPct: ruleDeployments.canaryPct,
        canaryTargetFilter: ruleDeployments.canaryTargetFilter,
        deployedAt: ruleDeployments.deployedAt,
        script: ruleScripts.script,
        scriptHash: ruleScripts.scriptHash,
      })
      .from(ruleDeployments)
      .innerJoin(ruleScripts, and(eq(ruleScripts.rulesetId, ruleDeployments.rulesetId), eq(ruleScripts.version, ruleDeployments.version)))
      .where(and(eq(ruleDeployments.rulesetId, rulesetId), inArray(ruleDeployments.status, ["active", "canary"]))),
    db
      .select({
        id: promptTemplates.id,
        name: promptTemplates.name,
        version: promptTemplates.version,
        modelConfig: promptTemplates.modelConfig,
        variables: promptTemplates.variables,
        aBTestGroup: promptTemplates.aBTestGroup,
        updatedAt: promptTemplates.updatedAt,
        locale: promptTemplateBodies.locale,
        systemPrompt: promptTemplateBodies.systemPrompt,
        userPromptTemplate: promptTemplateBodies.userPromptTemplate,
        fewShotExamples: promptTemplateBodies.fewShotExamples,
      })
      .from(promptTemplates)
      .innerJoin(promptTemplateBodies, eq(promptTemplateBodies.templateId, promptTemplates.id))
      .where(need.prompts ? and(eq(promptTemplates.isActive, true), eq(promptTemplates.templateType, "judgment")) : sql`false`),
  ] as const;
}

export type JudgmentRow = typeof judgmentExecutions.$inferSelect;

/** A judgment to store; `id` is minted by the Worker so the cache mirror and llm_calls can name it in the same batch. */
export interface NewJudgment {
  id: string;
  workflowId: string | null;
  workflowInstanceId: string | null;
  source: JudgmentRow["source"];
  inputData: Record<string, unknown>;
  result: JudgmentRow["result"];
  confidence: number | null;
  methodUsed: JudgmentRow["methodUsed"];
  explanation: string | null;
  recommendedActions: unknown;
  ruleTrace: unknown;
  llmMetadata: unknown;
  evidence: unknown;
  cacheHit: boolean;
  cacheKey: string | null;
  latencyMs: number;
  createdBy: string;
  traceId: string;
  metadata: Record<string, unknown>;
}

const json = (v: unknown): SQL => sql`${v === null || v === undefined ? null : JSON.stringify(v)}::jsonb`;

/**
 * Inserts the judgment only while the tenant's day has room: `place` is the request's place in
 * the day's count (src/platform/daily-quota.ts), compared with max_judgments_per_day in the same
 * statement, so a cache hit needs no read before its write. Nothing inserted and a tenant row seen
 * (judgmentQuota, same batch) means the quota is spent.
 */
export function insertJudgment(db: Database, j: NewJudgment, place: number) {
  const row = db
    .select({
      id: sql`${j.id}::uuid`.as("id"),
      tenantId: tenants.id,
      workflowInstanceId: sql`${j.workflowInstanceId}::uuid`.as("workflow_instance_id"),
      workflowId: sql`${j.workflowId}::uuid`.as("workflow_id"),
      source: sql`${j.source}::text`.as("source"),
      inputData: sql`${JSON.stringify(j.inputData)}::jsonb`.as("input_data"),
      result: sql`${j.result}::text`.as("result"),
      confidence: sql`${j.confidence}::float8`.as("confidence"),
      methodUsed: sql`${j.methodUsed}::text`.as("method_used"),
      explanation: sql`${j.explanation}::text`.as("explanation"),
      recommendedActions: json(j.recommendedActions).as("recommended_actions"),
      ruleTrace: json(j.ruleTrace).as("rule_trace"),
      llmMetadata: json(j.llmMetadata).as("llm_metadata"),
      evidence: json(j.evidence).as("evidence"),
      featureImportance: sql`null::jsonb`.as("feature_importance"),
      cacheHit: sql`${j.cacheHit}::boolean`.as("cache_hit"),
      cacheKey: sql`${j.cacheKey}::text`.as("cache_key"),
      latencyMs: sql`${j.latencyMs}::int`.as("latency_ms"),
      createdAt: sql`now()`.as("created_at"),
      createdBy: sql`${j.createdBy}::uuid`.as("created_by"),
      traceId: sql`${j.traceId}::text`.as("trace_id"),
      metadata: sql`${JSON.stringify(j.metadata)}::jsonb`.as("metadata"),
    })
    .from(tenants)
    .where(and(isCallerTenant, sql`${place}::int <= ${tenants.maxJudgmentsPerDay}`));
  return db.insert(judgmentExecutions).select(row).returning();
}

/** The tenant's daily quota, read beside insertJudgment to tell a spent quota from an unknown tenant. */
export const judgmentQuota = (db: Database) => db.select({ limit: tenants.maxJudgmentsPerDay }).from(tenants).where(isCallerTenant);

/** The llm_calls rows of a judgment's LLM calls (what src/factory/llm-client.ts reports per call). */
export function insertLlmCalls(db: Database, rows: (typeof llmCalls.$inferInsert)[]) {
  return db.insert(llmCalls).values(rows);
}

/**
 * The §4.2 mirror of a Redis entry just written: one row per tenant and key, replaced when the
 * key is judged again after it expired (hit_count starts over with the new judgment).
 */
export function upsertCacheMirror(db: Database, entry: { tenantId: string; cacheKey: string; executionId: string; inputHash: string; result: string; confidence: number | null; ttlSeconds: number }) {
  const expiresAt = sql`now() + make_interval(secs => ${entry.ttlSeconds})`;
  return db
    .insert(judgmentCache)
    .values({
      tenantId: entry.tenantId,
      cacheKey: entry.cacheKey,
      judgmentExecutionId: entry.executionId,
      inputHash: entry.inputHash,
      result: entry.result,
      confidence: entry.confidence,
      ttlSeconds: entry.ttlSeconds,
      expiresAt,
    })
    .onConflictDoUpdate({
      target: [judgmentCache.tenantId, judgmentCache.cacheKey],
      set: {
        judgmentExecutionId: entry.executionId,
        inputHash: entry.inputHash,
        result: entry.result,
        confidence: entry.confidence,
        ttlSeconds: entry.ttlSeconds,
        hitCount: 0,
        createdAt: sql`now()`,
        expiresAt,
        lastHitAt: null,
      },
    });
}

/** A hit counted on the mirror, only when the hit's judgment was stored (the quota let it through). */
export function countCacheHit(db: Database, tenantId: string, cacheKey: string, hitId: string) {
  return db
    .update(judgmentCache)
    .set({ hitCount: sql`${judgmentCache.hitCount} + 1`, lastHitAt: sql`now()` })
    .where(
      and(
        eq(judgmentCache.tenantId, tenantId),
        eq(judgmentCache.cacheKey, cacheKey),
        sql`exists (select 1 from ${judgmentExecutions} where ${judgmentExecutions.id} = ${hitId}::uuid)`,
      ),
    )
    .returning({ hitCount: judgmentCache.hitCount });
}
