import type { Redis } from "@upstash/redis/cloudflare";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { inputHash } from "../platform/canonical-json";
import type { Config } from "../platform/config";
import type { AppEnv } from "../platform/context";
import { countToday, dailyQuotaExceeded, utcDay } from "../platform/daily-quota";
import { ApiError, fieldError, notFound } from "../platform/problem";
import { orFallback } from "../platform/redis";
import { requestOrigin } from "../platform/request-origin";
import type { Database } from "../platform/db";
import { runFactory, tenantOf, type FactoryAccess } from "./access";
import { judgeByLlm, chooseJudgmentPrompt, renderJudgmentPrompt, type LlmOutcome, type PromptRow } from "./judge-llm";
import { judgeByRules, type RuleOutcome } from "./judge-rules";
import { inputsGenerationKey } from "./inputs-generation";
import { cacheScope, DEFAULT_CACHE_TTL_SEC, judgmentCacheKey, readCachedJudgment, type CachedJudgment, type JudgmentMethod } from "./judgment-cache";
import { cachedRefusal, generationOf, INPUTS_TTL_SEC, judgmentInputsKey, readJudgmentInputs, type InputsNeed, type JudgmentInputs } from "./judgment-inputs";
import { countCacheHit, insertJudgment, insertLlmCalls, judgmentInputs, judgmentQuota, upsertCacheMirror, type JudgmentRow, type NewJudgment } from "./judgment-sql";
import { judgmentEvents } from "./workflow-events";
import { combineVerdicts, DEFAULT_HYBRID_THRESHOLD, llmNeeded, type Verdict } from "./judgment-verdict";

export interface ExecuteRequest {
  inputData: Record<string, unknown>;
  rulesetId?: string;
  workflowId?: string;
  /** The workflow instance whose JUDGMENT node asks (source `workflow`). */
  workflowInstanceId?: string;
  method?: JudgmentMethod;
  source: NewJudgment["source"];
  promptVariables?: Record<string, unknown>;
  locale?: string;
}

/** Each tenant's judgments of one UTC day (max_judgments_per_day). */
export const judgmentQuotaKey = (tenantId: string, day: string) => `quota:judgments:${tenantId}:${day}`;

/** The method a request asks for: as named, else rules when it names a ruleset, else the LLM. */
export function methodOf(req: Pick<ExecuteRequest, "method" | "rulesetId">): JudgmentMethod {
  const method = req.method ?? (req.rulesetId ? "rule_only" : "llm_only");
  if (method !== "llm_only" && !req.rulesetId) throw fieldError("json.rulesetId", `${method} judges by a ruleset: name it`);
  return method;
}

const numberSetting = (settings: Record<string, unknown>, name: string, fallback: number, ok: (n: number) => boolean) => {
  const v = settings[name];
  return typeof v === "number" && ok(v) ? v : fallback;
};

type Results<T extends readonly BatchItem<"pg">[]> = { [K in keyof T]: Awaited<T[K]> };

/**
 * Who asks for a judgment and how its Postgres batches run: the route's caller (judgmentCaller),
 * or a workflow instance's actor (src/factory/workflow-nodes/judgment.ts). `run` executes a batch
 * as that user in one round trip with factory.authorize(`permission`) first, throwing its refusal
 * as the 403 ApiError refusalOf() makes.
 */
export interface JudgmentCaller {
  db: Database;
  redis: Redis;
  config: Config;
  userId: string;
  tenantId: string;
  traceId: string;
  /** What factory.authorize() checks (judgment:execute); a warm inputs entry is refused by it the same way. */
  permission: string;
  run: <T extends readonly BatchItem<"pg">[]>(statements: T) => Promise<Results<T>>;
}

/** The caller of a judgment route. */
export function judgmentCaller(c: Context<AppEnv>, route: FactoryAccess): JudgmentCaller {
  const { db, redis, config, principal } = c.var;
  return {
    db,
    redis,
    config,
    userId: principal!.userId,
    tenantId: tenantOf(principal!),
    traceId: requestOrigin(c).traceId,
    permission: route["x-permission"]!,
    run: (statements) => runFactory(c, route, statements),
  };
}

interface Run {
  caller: JudgmentCaller;
  userId: string;
  tenantId: string;
  traceId: string;
  started: number;
}

/** What every judgment row of a run records, whatever decided it: who asked, for what, when. */
const recordOf = (ctx: Run, req: ExecuteRequest, id: string) => ({
  id,
  workflowId: req.workflowId ?? null,
  workflowInstanceId: req.workflowInstanceId ?? null,
  source: req.source,
  inputData: req.inputData,
  latencyMs: Date.now() - ctx.started,
  createdBy: ctx.userId,
  traceId: ctx.traceId,
});

/** POST /judgments/execute: judge() for the route's caller. */
export const executeJudgment = (c: Context<AppEnv>, route: FactoryAccess, req: ExecuteRequest): Promise<JudgmentRow> => judge(judgmentCaller(c, route), req);

/**
 * A judgment (docs/factory-judgments.md), for a route or a workflow's JUDGMENT node: the cache first, then the method; its
 * events (judgment.completed, judgment.critical: workflow-events.ts) are written with its record. Round
 * trips: a hit is one Redis pipeline (entry, inputs generation and entry, quota count) and one
 * Postgres batch (the record, conditional on the quota, and the mirror's hit count); a miss adds
 * a Redis SET of the new entry, and, only when the cached inputs are cold, the Postgres batch
 * that reads what the method needs.
 */
export async function judge(caller: JudgmentCaller, req: ExecuteRequest): Promise<JudgmentRow> {
  const ctx: Run = { caller, userId: caller.userId, tenantId: caller.tenantId, traceId: caller.traceId, started: Date.now() };
  const { tenantId } = ctx;
  const method = methodOf(req);
  const hash = await inputHash(req.inputData);
  const cacheKey = judgmentCacheKey(cacheScope({ workflowId: req.workflowId, rulesetId: req.rulesetId, method, tenantId }), hash);
  const need: InputsNeed = { rulesetId: method === "llm_only" ? undefined : req.rulesetId, workflowId: req.workflowId, prompts: method !== "rule_only" };
  const inputsKey = judgmentInputsKey(tenantId, ctx.userId, need);
  const { day, endsAt } = utcDay(ctx.started);
  // One pipeline: the judgment's entry, the inputs' generation and entry, the quota count.
  // Redis down: no cache and no count (the platform's fail-open rule); place 0 is within any quota.
  const counted = await orFallback(
    caller.config,
    "factory.judgment.cache",
    () => countToday(caller.redis.pipeline().get(cacheKey).get(inputsGenerationKey(tenantId)).get(inputsKey), judgmentQuotaKey(tenantId, day), endsAt).exec(),
    null,
  );
  const place = counted ? Number(counted[3]) : 0;
  const quotaSpent = (limit: number) => dailyQuotaExceeded(`tenant ${tenantId} has used its ${limit} judgments`, limit, day, endsAt);
  const cached = counted ? readCachedJudgment(counted[0], tenantId) : null;
  if (cached) return serveHit(ctx, req, cached, cacheKey, place, quotaSpent);

  const generation = counted ? generationOf(counted[1]) : null;
  const warm = generation === null ? null : readJudgmentInputs(counted![2], { tenantId, userId: ctx.userId, generation });
  // Warm: no read batch; the caller is refused here as factory.authorize() would, before any LLM spend.
  const refused = warm && cachedRefusal(warm, caller.permission);
  if (refused) throw refused;
  const inputs = warm ?? (await readInputs(ctx, need, generation ?? 0));
  const { tenant } = inputs;
  if (place > tenant.limit) throw quotaSpent(tenant.limit);
  if (req.workflowId && !inputs.workflowFound) throw new ApiError(404, "not_found", `workflow ${req.workflowId} was not found`, { field: "json.workflowId" });
  const ruleset = inputs.ruleset;
  if (method !== "llm_only" && !ruleset) throw new ApiError(404, "not_found", `ruleset ${req.rulesetId} was not found`, { field: "json.rulesetId" });
  const settings = tenant.settings;
  const groups = inputs.user.groups;
  const deployments = inputs.deployments;
  const prompts = inputs.prompts;

  let rules: RuleOutcome | null = null;
  if (ruleset) {
    const userGroups = Array.isArray(groups) ? groups.filter((g): g is string => typeof g === "string") : [];
    rules = await judgeByRules(ruleset, deployments, { inputData: req.inputData, inputHash: hash, userGroups, tenantId });
  }
  const { llm, ask, skipped } = await consultLlm(ctx, req, method, rules, { hash, settings, prompts });

  const verdict: Verdict = method === "llm_only" ? llm!.verdict : combineVerdicts(rules!.verdict, llm && !llm.failed ? llm.verdict : null);
  const { db } = caller;
  const id = crypto.randomUUID();
  const ttl = numberSetting(settings, "judgment_cache_ttl_seconds", DEFAULT_CACHE_TTL_SEC, (n) => Number.isInteger(n) && n >= 1 && n <= 30 * 86_400);
  const cacheable = !llm?.failed;
  const judgment: NewJudgment = {
    ...recordOf(ctx, req, id),
    result: verdict.result,
    confidence: verdict.confidence,
    methodUsed: method,
    explanation: verdict.explanation,
    recommendedActions: verdict.recommendedActions,
    ruleTrace: rules?.ruleTrace ?? null,
    llmMetadata: llm ? { consulted: true, reason: ask, ...llm.metadata } : method === "hybrid" ? { consulted: false, reason: skipped } : null,
    evidence: evidenceOf(rules, llm),
    cacheHit: false,
    cacheKey: cacheable ? cacheKey : null,
    metadata: { input_hash: hash, ...(rules?.ran ? { rule_version: rules.ran.version, deployment_id: rules.ran.deploymentId, deployment_status: rules.ran.deploymentStatus } : {}) },
  };
  const writes: BatchItem<"pg">[] = [insertJudgment(db, judgment, place), judgmentQuota(db)];
  if (llm?.calls.length) writes.push(insertLlmCalls(db, llm.calls.map((call) => ({ ...call, costEstimateUsd: call.costEstimateUsd === null ? null : call.costEstimateUsd.toFixed(6), tenantId, judgmentExecutionId: id, promptTemplateId: llm!.metadata.prompt_template_id, callType: "judgment" as const, traceId: ctx.traceId }))));
  if (cacheable) writes.push(upsertCacheMirror(db, { tenantId, cacheKey, executionId: id, inputHash: hash, result: verdict.result, confidence: verdict.confidence, ttlSeconds: ttl }));
  writes.push(judgmentEvents(db, id, req.rulesetId ?? null));
  const [stored, quota] = (await caller.run(writes)) as unknown as [JudgmentRow[], { limit: number }[]];
  const row = stored[0];
  if (!row) throw quotaSpent(quota[0]?.limit ?? tenant.limit);
  // Both entries in one pipeline: the verdict (when cacheable) and, after a cold read, the inputs.
  const sets = caller.redis.pipeline();
  if (cacheable) {
    const entry: CachedJudgment = { tenantId, executionId: id, methodUsed: method, result: row.result, confidence: row.confidence, explanation: row.explanation, recommendedActions: verdict.recommendedActions, ruleTrace: (row.ruleTrace ?? null) as CachedJudgment["ruleTrace"], llmMetadata: (row.llmMetadata ?? null) as CachedJudgment["llmMetadata"], evidence: (row.evidence ?? null) as CachedJudgment["evidence"] };
    sets.set(cacheKey, JSON.stringify(entry), { ex: ttl });
  }
  if (!warm && generation !== null) sets.set(inputsKey, JSON.stringify(inputs), { ex: INPUTS_TTL_SEC });
  if (sets.length()) await orFallback(caller.config, "factory.judgment.cache.set", () => sets.exec(), null);
  return row;
}

/** The cold path: the read batch (authorize first, so a refused caller is stopped here) as a JudgmentInputs entry. */
async function readInputs(ctx: Run, need: InputsNeed, generation: number): Promise<JudgmentInputs> {
  const [tenantRows, userRows, workflowRows, rulesetRows, deployments, prompts] = await ctx.caller.run(judgmentInputs(ctx.caller.db, ctx.userId, need));
  const { groups, ...user } = userRows[0]!;
  return {
    generation,
    tenantId: ctx.tenantId,
    userId: ctx.userId,
    tenant: tenantRows[0]!,
    user: { ...user, groups },
    workflowFound: !!workflowRows[0],
    ruleset: rulesetRows[0] ?? null,
    deployments,
    prompts: prompts as PromptRow[],
  };
}

/**
 * The LLM's part: always for llm_only; for hybrid only when llmNeeded() says so (and the tenant
 * has an active judgment prompt, else the rules' verdict stands and `skipped` says why).
 */
async function consultLlm(
  ctx: Run,
  req: ExecuteRequest,
  method: JudgmentMethod,
  rules: RuleOutcome | null,
  read: { hash: string; settings: Record<string, unknown>; prompts: PromptRow[] },
): Promise<{ llm: LlmOutcome | null; ask: string | null; skipped: string | null }> {
  const threshold = numberSetting(read.settings, "hybrid_confidence_threshold", DEFAULT_HYBRID_THRESHOLD, (n) => n >= 0 && n <= 1);
  const ask = method === "llm_only" ? "llm_only" : method === "hybrid" ? llmNeeded(rules!.verdict, threshold) : null;
  if (!ask) {
    const skipped = method === "hybrid" ? `rule confidence ${rules!.verdict.confidence ?? "(none: certain)"} meets the threshold ${threshold}` : null;
    return { llm: null, ask, skipped };
  }
  const chosen = await chooseJudgmentPrompt(read.prompts, { id: ctx.tenantId, settings: read.settings }, read.hash, req.locale);
  if (!chosen) {
    if (method === "llm_only") throw new ApiError(409, "no_judgment_prompt", `tenant ${ctx.tenantId} has no active prompt template of type judgment`);
    return { llm: null, ask, skipped: `${ask}, but the tenant has no active judgment prompt` };
  }
  const ruleResult = rules ? { rule_result: { result: rules.verdict.result, confidence: rules.verdict.confidence, explanation: rules.verdict.explanation } } : {};
  const data = { ...req.promptVariables, input_data: req.inputData, ...ruleResult };
  return { llm: await judgeByLlm(chosen, renderJudgmentPrompt(chosen, data), read.settings, ctx.caller.config), ask, skipped: null };
}

/** §4.1 evidence: the rule version that judged (as a data reference) and whatever the LLM cited. */
function evidenceOf(rules: RuleOutcome | null, llm: LlmOutcome | null): Record<string, unknown> | null {
  const refs = rules?.ran ? [{ table: "rule_scripts", filter: `ruleset_id='${rules.ran.rulesetId}' AND version=${rules.ran.version}` }] : [];
  const cited = llm?.evidence ?? {};
  if (refs.length === 0 && !llm?.evidence) return null;
  return { ...cited, data_refs: [...refs, ...((cited.data_refs as unknown[] | undefined) ?? [])] };
}

/** A hit: the cached verdict recorded as a new judgment (method cache), pointing at the one it repeats. */
async function serveHit(ctx: Run, req: ExecuteRequest, cached: CachedJudgment, cacheKey: string, place: number, quotaSpent: (limit: number) => ApiError): Promise<JudgmentRow> {
  const { db } = ctx.caller;
  const id = crypto.randomUUID();
  const related = Array.isArray(cached.evidence?.related_judgments) ? (cached.evidence.related_judgments as unknown[]) : [];
  const judgment: NewJudgment = {
    ...recordOf(ctx, req, id),
    result: cached.result,
    confidence: cached.confidence,
    methodUsed: "cache",
    explanation: cached.explanation,
    recommendedActions: cached.recommendedActions,
    ruleTrace: cached.ruleTrace,
    llmMetadata: cached.llmMetadata,
    evidence: { ...cached.evidence, related_judgments: [...related, cached.executionId] },
    cacheHit: true,
    cacheKey,
    metadata: { cached_judgment_id: cached.executionId, cached_method: cached.methodUsed },
  };
  const [stored, quota] = await ctx.caller.run([
    insertJudgment(db, judgment, place),
    judgmentQuota(db),
    countCacheHit(db, ctx.tenantId, cacheKey, id),
    judgmentEvents(db, id, req.rulesetId ?? null),
  ] as const);
  if (!stored[0]) throw quota[0] ? quotaSpent(quota[0].limit) : notFound(`tenant ${ctx.tenantId}`);
  return stored[0];
}
