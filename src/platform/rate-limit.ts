import { Ratelimit } from "@upstash/ratelimit";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context";
import { ApiError } from "./problem";
import { orFallback } from "./redis";

/** Identifiers already over their limit, remembered by this isolate until their reset: spares Redis a call. */
const blockedInIsolate = new Map<string, number>();

/**
 * Sliding-window limit per tenant+user, or per client IP for anonymous callers. When Redis is
 * unreachable the request passes (fail open) and the skip in redis.ts keeps that fast.
 */
export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { config, redis } = c.var;
    const principal = c.var.principal;
    const identifier = principal
      ? `user:${principal.tenantId ?? "-"}:${principal.userId}`
      : `ip:${c.req.header("CF-Connecting-IP") ?? "unknown"}`;
    const limiter = new Ratelimit({
      redis,
      limiter: Ratelimit.slidingWindow(config.RATE_LIMIT_MAX, `${config.RATE_LIMIT_WINDOW_SEC} s`),
      prefix: "ratelimit",
      ephemeralCache: blockedInIsolate,
      timeout: 0,
      analytics: false,
    });
    const result = await orFallback(config, "ratelimit", () => limiter.limit(identifier), null);
    if (!result) return next();
    c.executionCtx.waitUntil(result.pending);

    const headers = {
      "RateLimit-Limit": String(result.limit),
      "RateLimit-Remaining": String(Math.max(0, result.remaining)),
      "RateLimit-Reset": String(Math.max(0, Math.ceil((result.reset - Date.now()) / 1000))),
    };
    if (!result.success) {
      throw new ApiError(429, "rate_limited", `more than ${result.limit} requests in ${config.RATE_LIMIT_WINDOW_SEC} s`, {}, {
        ...headers,
        "Retry-After": headers["RateLimit-Reset"],
      });
    }
    for (const [k, v] of Object.entries(headers)) c.header(k, v);
    await next();
    for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
  };
}
