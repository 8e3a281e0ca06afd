import type { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../platform/config";
import { orFallback } from "../platform/redis";
import { inputHash } from "../platform/canonical-json";

/** §8.2, exactly: a JSON string per tool and input. */
export const execCacheKey = (toolName: string, hash: string) => `exec_cache:${toolName}:${hash}`;

/** §8.2's TTL when the tool says nothing (tools.cache_ttl_seconds null). */
export const DEFAULT_EXEC_CACHE_TTL_SEC = 60 * 60;

/** The value of an exec_cache key: one successful run of a tool on one input (failures are never cached). */
export interface ExecutionResult {
  toolName: string;
  toolVersion: string | null;
  inputHash: string;
  /** Who stored it: a lookup from another organization misses, so a shared tool's results never cross organizations. */
  organizationId: string;
  success: true;
  resultData: unknown;
  outputPath: string | null;
  executionTimeMs: number;
  tokensUsed: number | null;
  apiCallsCount: number | null;
  completedAt: string;
}

/** What the cache needs of a tools row. */
export interface CacheableTool {
  name: string;
  version: string | null;
  cacheTtlSeconds: number | null;
}

export interface RunOutput {
  resultData: unknown;
  outputPath?: string | null;
  executionTimeMs: number;
  tokensUsed?: number | null;
  apiCallsCount?: number | null;
  completedAt?: string;
}

/** Seconds a tool's results are kept; 0: the tool is not cacheable. */
export const cacheTtlOf = (tool: CacheableTool) => tool.cacheTtlSeconds ?? DEFAULT_EXEC_CACHE_TTL_SEC;

/**
 * Stores a successful run of `tool` on `params` for `organizationId`, replacing any entry. Null when
 * the tool is not cacheable; `stored` false when Redis is down. Throws NotCanonicalJsonError for
 * params RFC 8785 refuses (callers validate them first).
 */
export async function storeExecResult(redis: Redis, config: Config, tool: CacheableTool, organizationId: string, params: unknown, run: RunOutput) {
  const ttlSeconds = cacheTtlOf(tool);
  if (ttlSeconds === 0) return null;
  const hash = await inputHash(params);
  const key = execCacheKey(tool.name, hash);
  const result: ExecutionResult = {
    toolName: tool.name,
    toolVersion: tool.version,
    inputHash: hash,
    organizationId,
    success: true,
    resultData: run.resultData ?? null,
    outputPath: run.outputPath ?? null,
    executionTimeMs: run.executionTimeMs,
    tokensUsed: run.tokensUsed ?? null,
    apiCallsCount: run.apiCallsCount ?? null,
    completedAt: run.completedAt ?? new Date().toISOString(),
  };
  const stored = await orFallback(config, "agent.exec_cache.store", () => redis.set(key, JSON.stringify(result), { ex: ttlSeconds }).then(() => true), false);
  return { key, inputHash: hash, ttlSeconds, stored, result };
}

/**
 * The cached result of `toolName` on `params` for `organizationId`, or null: no entry, another
 * organization's entry, or Redis down (a lookup is never an error). One Redis call, no Postgres.
 */
export async function lookupExecResult(redis: Redis, config: Config, toolName: string, params: unknown, organizationId: string | null) {
  const hash = await inputHash(params);
  const key = execCacheKey(toolName, hash);
  const cached = await orFallback(config, "agent.exec_cache.lookup", () => redis.get<ExecutionResult>(key), null);
  const result = cached && typeof cached === "object" && cached.organizationId === organizationId && cached.toolName === toolName ? cached : null;
  return { key, inputHash: hash, result };
}

/** SCAN's MATCH is a glob: a tool name's own `*?[]\` must match only themselves. */
const globLiteral = (text: string) => text.replace(/[*?[\]\\]/g, (ch) => `\\${ch}`);

/**
 * Deletes every entry of `toolName` (after the tool is updated or deactivated): SCAN over
 * `exec_cache:{tool_name}:*`, deleting each batch, so the keys keep §8.2's exact shape. Costs one
 * Redis call per 1000 keys scanned plus one per batch found. Answers how many were deleted, or
 * null when Redis is down (entries then live out their TTL).
 */
export function invalidateToolCache(redis: Redis, config: Config, toolName: string): Promise<number | null> {
  const match = `${globLiteral(execCacheKey(toolName, ""))}*`;
  return orFallback(
    config,
    "agent.exec_cache.invalidate",
    async () => {
      let cursor: string | number = 0;
      let deleted = 0;
      do {
        const [next, keys]: [string | number, string[]] = await redis.scan(cursor, { match, count: 1000 });
        if (keys.length) deleted += await redis.del(...keys);
        cursor = next;
      } while (String(cursor) !== "0");
      return deleted;
    },
    null,
  );
}
