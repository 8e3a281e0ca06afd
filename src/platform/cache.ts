import type { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "./config";
import { orFallback } from "./redis";

/** What a cached value is stored in: keeps strings that look like numbers or JSON from being reparsed. */
interface Envelope<T> {
  v: T;
}

/** Cache-aside over Upstash Redis. Redis being down degrades to always loading (see redis.ts). */
export class Cache {
  constructor(
    private readonly redis: Redis,
    private readonly config: Config,
  ) {}

  async get<T>(key: string): Promise<{ hit: true; value: T } | { hit: false }> {
    const stored = await orFallback(this.config, "cache.get", () => this.redis.get<Envelope<T>>(key), null);
    return stored && typeof stored === "object" && "v" in stored ? { hit: true, value: stored.v } : { hit: false };
  }

  async set<T>(key: string, value: T, ttlSec = this.config.CACHE_TTL_SEC): Promise<void> {
    const envelope: Envelope<T> = { v: value };
    await orFallback(this.config, "cache.set", () => this.redis.set(key, JSON.stringify(envelope), { ex: ttlSec }), null);
  }

  /** Returns the cached value, or loads it, stores it (nulls too: misses are cached as well) and returns it. */
  async getOrLoad<T>(key: string, load: () => Promise<T>, ttlSec?: number): Promise<T> {
    const cached = await this.get<T>(key);
    if (cached.hit) return cached.value;
    const value = await load();
    await this.set(key, value, ttlSec);
    return value;
  }

  async invalidate(...keys: string[]): Promise<void> {
    if (keys.length) await orFallback(this.config, "cache.invalidate", () => this.redis.del(...keys), 0);
  }
}
