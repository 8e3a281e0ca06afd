import type { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../platform/config";
import { orFallback } from "../platform/redis";

/**
 * The tenant's generation of judgment inputs (src/factory/judgment-inputs.ts): a cached entry is
 * used only while its generation is current, and every factory write that can change what a
 * judgment reads moves the tenant to the next one.
 */
export const inputsGenerationKey = (tenantId: string) => `factory:inputs-generation:${tenantId}`;

/**
 * Bumps the generation after a write committed and before the route answers, so the very next
 * judgment reads Postgres. Redis down: no bump; entries written before then can serve until their
 * TTL (docs/factory-judgments.md, race window).
 */
export const bumpInputsGeneration = (redis: Redis, config: Config, tenantId: string) =>
  orFallback(config, "factory.judgment_inputs.bump", () => redis.incr(inputsGenerationKey(tenantId)), null);

/**
 * Whether a route with this permission can change a judgment's inputs: every non-read one except
 * the judgment routes themselves (executions and feedback are not inputs; bumping there would
 * retire the cache on every judgment), nor running workflow instances and deciding their
 * approvals (workflow:execute, approval:*), nor chat (instances, sessions, messages and intent
 * logs are no judgment's input). null is a read (any member, GET /me).
 */
export const changesJudgmentInputs = (permission: string | null) =>
  permission !== null &&
  !permission.endsWith(":read") &&
  !permission.startsWith("judgment:") &&
  permission !== "workflow:execute" &&
  !permission.startsWith("approval:") &&
  !permission.startsWith("chat:");
