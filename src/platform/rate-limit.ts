import { Ratelimit } from "@upstash/ratelimit";
import type { Context, MiddlewareHandler } from "hono";
import type { Config } from "./config";
import type { AppEnv } from "./context";
import { ApiError, problemBody } from "./problem";
import { orFallback } from "./redis";

const PREFIX = "ratelimit";
/** Identifiers already over their limit, remembered by this isolate until their reset: spares Redis a call. */
const blockedInIsolate = new Map<string, number>();
/** Methods whose handlers change nothing but caches, so they may run before the verdict is in. */
const SAFE_METHODS = new Set(["GET", "HEAD"]);

type Verdict = Awaited<ReturnType<Ratelimit["limit"]>>;

/**
 * Sliding-window limit per tenant+user, or per client IP for anonymous callers. When Redis is
 * unreachable the request passes (fail open) and the skip in redis.ts keeps that fast.
 *
 * A write waits for the verdict before its handler runs. A read runs its handler while Redis
 * decides (one Redis round trip of waiting instead of the limiter's plus the handler's own);
 * when refused, its answer is dropped whole and the 429 is what it would have been up front.
 * An identifier this isolate already knows to be blocked is refused before the handler, so a
 * caller over the limit costs the handler's reads at most once per isolate and window.
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
      prefix: PREFIX,
      ephemeralCache: blockedInIsolate,
      timeout: 0,
      analytics: false,
    });
    const verdict = orFallback(config, "ratelimit", () => limiter.limit(identifier), null);

    if (SAFE_METHODS.has(c.req.method) && !knownBlocked(identifier)) {
      // next() rejects only when no handler answered (the 404/405 fallback): that too waits for the verdict.
      const unanswered = await next().then(
        () => null,
        (error: unknown) => ({ error }),
      );
      const result = await verdict;
      if (result) {
        c.executionCtx.waitUntil(result.pending);
        if (!result.success) {
          // Unset first: assigning over the handler's response would carry its headers into the 429.
          c.res = undefined;
          c.res = refusalResponse(refusal(result, config), c);
          return;
        }
        for (const [k, v] of Object.entries(limitHeaders(result))) c.header(k, v);
      }
      if (unanswered) throw unanswered.error;
      return;
    }

    const result = await verdict;
    if (!result) return next();
    c.executionCtx.waitUntil(result.pending);
    if (!result.success) throw refusal(result, config);
    const headers = limitHeaders(result);
    for (const [k, v] of Object.entries(headers)) c.header(k, v);
    await next();
    for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
  };
}

/** The ephemeral cache is keyed as @upstash/ratelimit keys Redis: prefix, then identifier. */
function knownBlocked(identifier: string): boolean {
  return (blockedInIsolate.get(`${PREFIX}:${identifier}`) ?? 0) > Date.now();
}

function limitHeaders(result: Verdict): Record<string, string> {
  return {
    "RateLimit-Limit": String(result.limit),
    "RateLimit-Remaining": String(Math.max(0, result.remaining)),
    "RateLimit-Reset": String(Math.max(0, Math.ceil((result.reset - Date.now()) / 1000))),
  };
}

function refusal(result: Verdict, config: Config): ApiError {
  const headers = limitHeaders(result);
  return new ApiError(429, "rate_limited", `more than ${result.limit} requests in ${config.RATE_LIMIT_WINDOW_SEC} s`, {}, {
    ...headers,
    "Retry-After": headers["RateLimit-Reset"]!,
  });
}

/** The 429 as problemResponse() builds it, from a clean slate instead of the context's headers. */
function refusalResponse(err: ApiError, c: Context<AppEnv>): Response {
  const body = problemBody(err.status, err.code, err.detail, { ...err.extensions, requestId: c.var.requestId });
  return new Response(JSON.stringify(body), { status: err.status, headers: { ...err.headers, "Content-Type": "application/problem+json" } });
}
