import type { Redis } from "@upstash/redis/cloudflare";
import type { Principal } from "../platform/auth";
import type { Config } from "../platform/config";
import { runAs, type Database } from "../platform/db";
import { callerOrg } from "./access";
import { toolsNamed } from "./plan-sql";
import { cacheTools, cachedTools } from "./tool-cache";

/**
 * The tools a plan's todos name, with their schemas, so tool_params are checked before the write:
 * from Redis when every one is cached (no round trip), else one Postgres read that refills the
 * cache. Either way the write re-checks in SQL that each is still visible and active.
 */
export async function toolsFor(db: Database, redis: Redis, config: Config, principal: Principal, names: string[]) {
  const cached = await cachedTools(redis, config, names, callerOrg(principal));
  if (cached) return cached;
  const [rows] = await runAs(db, principal, [toolsNamed(db, names)] as const);
  await cacheTools(redis, config, rows);
  return rows;
}
