import type { Redis } from "@upstash/redis/cloudflare";
import type { Principal } from "./auth";
import type { Cache } from "./cache";
import type { Config } from "./config";
import type { Database } from "./db";

/** The Worker's bindings: configuration strings plus the queue producer. */
export type Bindings = Record<string, unknown>;

/** What middleware puts on the context for handlers. */
export interface Variables {
  requestId: string;
  config: Config;
  principal: Principal | null;
  db: Database;
  redis: Redis;
  cache: Cache;
  /** The system whose route serves the request (unset on platform routes such as /me). */
  system?: string;
}

export interface AppEnv {
  Bindings: Bindings;
  Variables: Variables;
}
