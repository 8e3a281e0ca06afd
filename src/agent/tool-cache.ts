import type { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../platform/config";
import { orFallback } from "../platform/redis";

/** What a plan needs of a tools row to check tool_params in the Worker, and whose tool it is. */
export interface CachedTool {
  id: string;
  name: string;
  isActive: boolean | null;
  parametersSchema: unknown;
  /** Null for a shared tool; another organization's tool is invisible to the caller, as in RLS. */
  organizationId: string | null;
}

export const toolEntryKey = (name: string) => `agent:tool:${name}`;

/** A safety net only: every change through the API deletes the entry at once. */
const TTL_SEC = 60 * 60;

/**
 * The named tools as `org`'s caller sees them, from Redis (one call, no Postgres), or null when any
 * name misses, Redis is down, or an entry is another organization's: the caller then reads Postgres.
 */
export async function cachedTools(redis: Redis, config: Config, names: string[], org: string | null): Promise<CachedTool[] | null> {
  if (!names.length) return [];
  const found = await orFallback(config, "agent.tool_cache.read", () => redis.mget<(CachedTool | null)[]>(...names.map(toolEntryKey)), null);
  if (!found) return null;
  const tools = found.filter((t, i): t is CachedTool => !!t && typeof t === "object" && t.name === names[i]);
  if (tools.length !== names.length || tools.some((t) => t.organizationId !== null && t.organizationId !== org)) return null;
  return tools;
}

/** Writes the tools a request read from Postgres (one pipelined call); a failure only costs the next request a read. */
export function cacheTools(redis: Redis, config: Config, tools: readonly CachedTool[]) {
  if (!tools.length) return Promise.resolve(null);
  return orFallback(
    config,
    "agent.tool_cache.write",
    () => {
      const p = redis.pipeline();
      for (const t of tools) p.set(toolEntryKey(t.name), JSON.stringify(t), { ex: TTL_SEC });
      return p.exec();
    },
    null,
  );
}

/** Drops a tool's entry after it changes (update, deactivation), so the next plan reads Postgres. */
export const forgetTool = (redis: Redis, config: Config, name: string) => orFallback(config, "agent.tool_cache.forget", () => redis.del(toolEntryKey(name)), null);
