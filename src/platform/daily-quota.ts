import type { Redis } from "@upstash/redis/cloudflare";
import { ApiError } from "./problem";

const DAY_MS = 24 * 60 * 60 * 1000;

/** The UTC day a request counts against, and when it ends. */
export function utcDay(now: number): { day: string; endsAt: number } {
  const start = Math.floor(now / DAY_MS) * DAY_MS;
  return { day: new Date(start).toISOString().slice(0, 10), endsAt: start + DAY_MS };
}

type Pipeline = ReturnType<Redis["pipeline"]>;

/**
 * A daily quota exact under concurrency (the agent's max_daily_requests, the factory's
 * max_judgments_per_day): every request that reaches the check counts, refused or not, with one
 * INCR of the day's counter, added to the caller's pipeline so it costs no round trip of its own.
 * The INCR answers each of N + k concurrent requests a distinct place 1 … N + k, and a request
 * passes when its place is within the limit: exactly N pass. The counter expires when the day ends.
 * Its two replies are the place (a number) and the PEXPIREAT's 1.
 */
export const countToday = (pipeline: Pipeline, key: string, endsAt: number): Pipeline => pipeline.incr(key).pexpireat(key, endsAt);

/** The 429 of a spent daily quota: until the end of the UTC day, as Retry-After says. */
export function dailyQuotaExceeded(what: string, limit: number, day: string, endsAt: number, now = Date.now()): ApiError {
  return new ApiError(
    429,
    "daily_quota_exceeded",
    `${what} of ${day} (UTC); the quota renews at midnight UTC`,
    { limit, day },
    { "Retry-After": String(Math.max(1, Math.ceil((endsAt - now) / 1000))) },
  );
}
