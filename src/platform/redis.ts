import { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "./config";
import { log } from "./log";

/** Bounds one Redis HTTP call; the client's default retries add up to ~4 s, far too long inline. */
const REDIS_TIMEOUT_MS = 800;
/** After a failure, this isolate skips Redis for a while instead of paying the timeout per request. */
const SKIP_AFTER_FAILURE_MS = 10_000;

const downUntil = new Map<string, number>();

export function createRedis(config: Config, requestId: string): Redis {
  const redis = new Redis({
    url: config.REDIS_URL,
    token: config.UPSTASH_REDIS_REST_TOKEN,
    retry: { retries: 1, backoff: () => 50 },
    signal: () => AbortSignal.timeout(REDIS_TIMEOUT_MS),
    enableTelemetry: false,
    // Round trips stay explicit (and countable): batch with redis.pipeline() where it pays.
    enableAutoPipelining: false,
  });
  // The Cloudflare build takes no custom headers; the request id rides on its HTTP client so
  // Upstash-side logs (and the local endpoint's round-trip counter) can attribute each call.
  (redis as unknown as { client: { headers: Record<string, string> } }).client.headers["x-request-id"] = requestId;
  return redis;
}

/**
 * Runs a Redis operation that the request can do without: when Redis is unreachable it logs once,
 * answers `fallback`, and the isolate stops trying for SKIP_AFTER_FAILURE_MS (fail open).
 */
export async function orFallback<T>(config: Config, what: string, op: () => Promise<T>, fallback: T): Promise<T> {
  const until = downUntil.get(config.REDIS_URL) ?? 0;
  if (Date.now() < until) return fallback;
  try {
    return await op();
  } catch (err) {
    // A call made side by side (a read's rate limit and its cache read) already failed and logged.
    if (Date.now() < (downUntil.get(config.REDIS_URL) ?? 0)) return fallback;
    downUntil.set(config.REDIS_URL, Date.now() + SKIP_AFTER_FAILURE_MS);
    log("warn", "redis unavailable; continuing without it", {
      operation: what,
      error: err instanceof Error ? err.name : "unknown",
      skipMs: SKIP_AFTER_FAILURE_MS,
    });
    return fallback;
  }
}
