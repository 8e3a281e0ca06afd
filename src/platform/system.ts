import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Principal } from "./auth";
import type { AppEnv, Bindings } from "./context";
import type { RelayedEvent } from "./relay";

/** The Worker's cron triggers (wrangler.toml [triggers]): every job runs on one of them. */
export const EVERY_MINUTE = "* * * * *";
export const DAILY = "0 3 * * *";
export type Cron = typeof EVERY_MINUTE | typeof DAILY;

/** A job reports what it did; it must be idempotent and safe when two runs overlap. */
export type ScheduledJob = (env: Bindings, scheduledTime: number) => Promise<Record<string, unknown>>;

/** A consumer of one event type; it must be idempotent (queues deliver at least once). */
export type EventConsumer = (event: RelayedEvent, env: Bindings) => Promise<void>;

/**
 * Resolves the key of `Authorization: ApiKey <key>` on the system's own routes to the caller, or
 * throws a 401 ApiError. Bearer tokens keep working there; other systems never see such a header
 * as anything but an invalid token.
 */
export type ApiKeyAuthenticator = (key: string, c: Context<AppEnv>) => Promise<Principal>;

/** What a system brings at run time: its routes, jobs, consumers and cache keys. */
export interface SystemParts {
  router: OpenAPIHono<AppEnv>;
  /** Jobs by the cron that runs them. */
  jobs?: Partial<Record<Cron, ScheduledJob[]>>;
  /** Consumers of this system's own events, by event type: other systems' events never reach them. */
  consumers?: Record<string, EventConsumer[]>;
  /** Accepts API keys on its routes (`Authorization: ApiKey …`) besides bearer tokens. */
  apiKey?: ApiKeyAuthenticator;
  /**
   * Routes (paths under the system's prefix, exact but for `{param}` segments, each standing for
   * one path segment) that authenticate by a signature of their own
   * (a webhook from another system), not a bearer token: requireAuth lets their requests through
   * with no principal, and the route must verify the signature before anything else. Listing a
   * route here is the only way to leave the bearer check.
   */
  signedRoutes?: string[];
  /** Routes (paths under the system's prefix, exact) that take bodies of these media types besides JSON (an import of CSV or JSON lines). */
  bodyTypes?: Record<string, string[]>;
  /** The Redis keys it writes, by purpose: one place to read its cache layout. */
  cacheKeys?: Record<string, (...parts: string[]) => string>;
}

/**
 * Everything the Worker needs to know of one system (docs/adding-a-system.md): the entry points
 * (functions/) and the app read systems only through this contract, so a system is one module
 * registered in one list (src/systems.ts) and the platform names none of them.
 */
export interface System {
  /** The URL segment under /api/v1, the Postgres schema and the `system` of its events. */
  name: string;
  /** What it is, for people: the API description lists it. */
  title: string;
  /** Its documentation pages, relative to the repository root. */
  docs: string[];
  /**
   * Its parts, loaded on first use through a dynamic import the bundler keeps lazy: a Worker's
   * startup evaluates no system code, and a cron or a queue batch loads only the systems it runs.
   */
  load: () => Promise<SystemParts>;
}

/** Identity functions that check a system module and its parts against the contract where they are written. */
export const defineSystem = <S extends System>(system: S): S => system;
export const defineParts = <P extends SystemParts>(parts: P): P => parts;

/**
 * The systems ENABLED_SYSTEMS (comma list) names, in registry order; all of them when it is unset
 * or names none of them. A Worker built for fewer systems serves only what it was built with.
 */
export function enabledSystems<S extends System>(all: readonly S[], env: Bindings): S[] {
  const raw = typeof env.ENABLED_SYSTEMS === "string" ? env.ENABLED_SYSTEMS : "";
  const wanted = new Set(raw.split(",").map((s) => s.trim()).filter(Boolean));
  const chosen = all.filter((s) => wanted.has(s.name));
  return chosen.length ? chosen : [...all];
}
