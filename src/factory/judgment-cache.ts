import { z } from "@hono/zod-openapi";
import { RecommendedAction } from "./judgment-verdict";
import { JUDGMENT_RESULTS } from "./schema";

/** judgment_cache.ttl_seconds' default (§4.2), used when the tenant's settings name no other. */
export const DEFAULT_CACHE_TTL_SEC = 3600;

export type JudgmentMethod = "rule_only" | "llm_only" | "hybrid";

/**
 * The first segment of the §4.2 key `judgment:{workflow_id}:{sha256(input_data)}`. Without a
 * workflow it is `<ruleset id>.<method>` (the same input judged by rules alone and by rules with
 * the LLM must not share an entry), or `<tenant id>.llm_only` when no ruleset takes part. A
 * workflow's id leads it (`<workflow id>.<ruleset id>.<method>`): one workflow may hold several
 * JUDGMENT nodes judging the same input by different rulesets or methods, so its id alone, as the
 * spec writes it, would let one node answer with another's verdict.
 */
export function cacheScope(target: { workflowId?: string | null; rulesetId?: string | null; method: JudgmentMethod; tenantId: string }): string {
  const judge = target.method !== "llm_only" && target.rulesetId ? `${target.rulesetId}.${target.method}` : `${target.tenantId}.llm_only`;
  return target.workflowId ? `${target.workflowId}.${judge}` : judge;
}

/** `judgment:{scope}:{input hash}`; the hash is src/platform/canonical-json.ts' inputHash of input_data. */
export const judgmentCacheKey = (scope: string, inputHash: string) => `judgment:${scope}:${inputHash}`;

/**
 * What the Redis entry holds: the judgment a hit answers with, and the tenant it belongs to
 * (checked on every hit, so an entry can only ever answer its own tenant).
 */
export const CachedJudgment = z.object({
  tenantId: z.string(),
  executionId: z.uuid(),
  methodUsed: z.enum(["rule_only", "llm_only", "hybrid"]),
  result: z.enum(JUDGMENT_RESULTS),
  confidence: z.number().nullable(),
  explanation: z.string().nullable(),
  recommendedActions: z.array(RecommendedAction),
  ruleTrace: z.record(z.string(), z.unknown()).nullable(),
  llmMetadata: z.record(z.string(), z.unknown()).nullable(),
  evidence: z.record(z.string(), z.unknown()).nullable(),
});
export type CachedJudgment = z.infer<typeof CachedJudgment>;

/**
 * A value as Upstash answers a GET: already parsed when it was JSON, else the stored string,
 * parsed here; undefined when that string is not JSON (a miss for every reader).
 */
export function storedJson(stored: unknown): unknown {
  if (typeof stored !== "string") return stored;
  try {
    return JSON.parse(stored);
  } catch {
    return undefined;
  }
}

/** The entry a hit reads: null when it is absent, malformed, or another tenant's (each a miss). */
export function readCachedJudgment(stored: unknown, tenantId: string): CachedJudgment | null {
  const parsed = CachedJudgment.safeParse(storedJson(stored));
  return parsed.success && parsed.data.tenantId === tenantId ? parsed.data : null;
}
