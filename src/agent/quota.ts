import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import { eq } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import type { Principal } from "../platform/auth";
import type { Config } from "../platform/config";
import type { AppEnv } from "../platform/context";
import { countToday, dailyQuotaExceeded, utcDay } from "../platform/daily-quota";
import { runAs } from "../platform/db";
import { ApiError } from "../platform/problem";
import { orFallback } from "../platform/redis";
import { callerOrg } from "./access";
import { organizations } from "./schema";

/** §8.3's key prefix: @upstash/ratelimit's fixed window writes `rate_limit:{user_id}:{minute}`. */
const USER_LIMIT_PREFIX = "rate_limit";
/** A limit cached after a miss is trusted this long; PATCH /organizations rewrites it at once. */
const LIMIT_TTL_SEC = 60 * 60;
/** Users this isolate already knows to be over their minute: refused without a Redis call. */
const blockedUsers = new Map<string, number>();

const Settings = z.object({ AGENT_USER_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).default(300) });

export const dailyCountKey = (orgId: string, day: string) => `quota:daily:${orgId}:${day}`;
export const dailyLimitKey = (orgId: string) => `quota:daily_limit:${orgId}`;

/** What the limit key holds: the number, or "none" for an organization without a daily quota. */
const encodeLimit = (limit: number | null) => (limit === null ? "none" : String(limit));

/** Write-through from the organization routes, so a changed quota applies to the next request. */
export function cacheDailyLimit(redis: Redis, config: Config, orgId: string, limit: number | null) {
  return orFallback(config, "agent.quota.limit.set", () => redis.set(dailyLimitKey(orgId), encodeLimit(limit), { ex: LIMIT_TTL_SEC }), null);
}

/**
 * Every agent request, after the platform's limiter has let it through: the caller's §8.3 minute
 * (per user, `AGENT_USER_REQUESTS_PER_MINUTE`, default 300), then the organization's
 * max_daily_requests for the UTC day (countToday, src/platform/daily-quota.ts: exact under
 * concurrency). A request the minute limit refuses is not counted toward the day. Redis down: both
 * pass (the platform's fail-open rule).
 */
export function agentLimits(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.var.principal;
    if (!principal) return next();
    const { redis, config } = c.var;
    const { AGENT_USER_REQUESTS_PER_MINUTE: perMinute } = Settings.parse(c.env);
    const limiter = new Ratelimit({
      redis,
      limiter: Ratelimit.fixedWindow(perMinute, "60 s"),
      prefix: USER_LIMIT_PREFIX,
      ephemeralCache: blockedUsers,
      timeout: 0,
      analytics: false,
    });
    const verdict = await orFallback(config, "agent.ratelimit", () => limiter.limit(principal.userId), null);
    if (verdict) {
      c.executionCtx.waitUntil(verdict.pending);
      if (!verdict.success) {
        const retryAfter = String(Math.max(1, Math.ceil((verdict.reset - Date.now()) / 1000)));
        throw new ApiError(429, "user_rate_limited", `user ${principal.userId} made more than ${perMinute} agent requests this minute`, { limit: perMinute }, { "Retry-After": retryAfter });
      }
    }
    const orgId = callerOrg(principal);
    if (orgId) await checkDailyQuota(c.var, principal, orgId);
    await next();
  };
}

async function checkDailyQuota(vars: AppEnv["Variables"], principal: Principal, orgId: string): Promise<void> {
  const { redis, config, db } = vars;
  const now = Date.now();
  const { day, endsAt } = utcDay(now);
  const counted = await orFallback(
    config,
    "agent.quota.daily",
    () => countToday(redis.pipeline().get<string | number>(dailyLimitKey(orgId)), dailyCountKey(orgId, day), endsAt).exec(),
    null,
  );
  if (!counted) return;
  const [cachedLimit, used] = counted as [string | number | null, number, number];
  let limit: number | null;
  if (cachedLimit === null) {
    // The entry expired or Redis lost it: one extra Postgres round trip reads the quota again.
    const [rows] = await runAs(db, principal, [db.select({ limit: organizations.maxDailyRequests }).from(organizations).where(eq(organizations.id, orgId))] as const);
    if (!rows[0]) return;
    limit = rows[0].limit;
    await orFallback(config, "agent.quota.limit.fill", () => redis.set(dailyLimitKey(orgId), encodeLimit(limit), { ex: LIMIT_TTL_SEC, nx: true }), null);
  } else {
    limit = cachedLimit === "none" ? null : Number(cachedLimit);
  }
  if (limit !== null && used > limit) throw dailyQuotaExceeded(`organization ${orgId} has used its ${limit} agent requests`, limit, day, endsAt, now);
}
