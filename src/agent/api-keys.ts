import { and, eq, sql } from "drizzle-orm";
import type { Redis } from "@upstash/redis/cloudflare";
import type { Principal } from "../platform/auth";
import type { Config } from "../platform/config";
import { runAs } from "../platform/db";
import { ApiError } from "../platform/problem";
import { orFallback } from "../platform/redis";
import type { ApiKeyAuthenticator } from "../platform/system";
import type { AgentRole } from "./access";
import { organizations, users } from "./schema";

/** `agk_` then 32 random bytes as base64url: the whole string is the key, shown once. */
const KEY_FORM = /^agk_[A-Za-z0-9_-]{43}$/;

/** What a key's cache entry holds: enough to build the principal without Postgres. */
interface KeyRecord {
  userId: string;
  organizationId: string;
  role: AgentRole;
}

/**
 * How long a cached key lives, whether written at creation or re-read after a miss. Short, because
 * a revocation made while Redis is unreachable cannot delete the entry: this bounds how long a
 * revoked key can outlive such an outage (and a lookup that raced a revocation, and a deactivated
 * organization), at the cost of one Postgres read per key every five minutes.
 */
const KEY_TTL_SEC = 5 * 60;

export const apiKeyCacheKey = (hash: string) => `api_key:${hash}`;

export function newApiKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `agk_${btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

/** SHA-256 hex of the key: what users.api_key_hash and the cache key hold (the key itself is never stored). */
export async function hashApiKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function cacheApiKey(redis: Redis, config: Config, hash: string, record: KeyRecord) {
  return orFallback(config, "agent.api_key.set", () => redis.set(apiKeyCacheKey(hash), JSON.stringify(record), { ex: KEY_TTL_SEC }), null);
}

/** Revokes at once: the entry goes in the request that revoked or rotated the key. */
export function forgetApiKey(redis: Redis, config: Config, hash: string) {
  return orFallback(config, "agent.api_key.del", () => redis.del(apiKeyCacheKey(hash)), 0);
}

const invalidKey = () =>
  new ApiError(401, "invalid_api_key", "the API key is unknown, revoked or belongs to an inactive user", {}, { "WWW-Authenticate": 'ApiKey realm="edge-api"' });

/**
 * The caller of an agent request made with an API key: from Redis (one GET), or, on a miss or
 * while Redis is down, from Postgres, where holding the key's hash is what lets the request read
 * its one user row (users_read, migration 0010); the entry is then cached again.
 */
export const authenticateApiKey: ApiKeyAuthenticator = async (key, c) => {
  if (!KEY_FORM.test(key)) throw invalidKey();
  const { redis, config, db } = c.var;
  const hash = await hashApiKey(key);
  let record = await orFallback(config, "agent.api_key.get", () => redis.get<KeyRecord>(apiKeyCacheKey(hash)), null);
  if (!record) {
    const [, rows] = await runAs(db, null, [
      db.execute(sql`select set_config('app.api_key_hash', ${hash}, true)`),
      db
        .select({ userId: users.id, organizationId: organizations.id, role: users.role })
        .from(users)
        .innerJoin(organizations, eq(organizations.id, users.organizationId))
        .where(and(eq(users.apiKeyHash, hash), eq(users.isActive, true), eq(organizations.isActive, true))),
    ] as const);
    const row = rows[0];
    if (!row) throw invalidKey();
    record = { userId: row.userId, organizationId: row.organizationId, role: row.role ?? "user" };
    await cacheApiKey(redis, config, hash, record);
  }
  return principalOf(record);
};

/** An API key acts as its user, in their organization, with their users.role; it carries no token. */
function principalOf(record: KeyRecord): Principal {
  return { userId: record.userId, tenantId: record.organizationId, roles: [record.role], permissions: [] };
}
