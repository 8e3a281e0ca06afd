import type { OpenAPIHono } from "@hono/zod-openapi";
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
 * Everything the Worker needs to know of one system (docs/adding-a-system.md): the entry points
 * (functions/) and the app read systems only through this contract, so a system is one module
 * registered in one list (src/systems.ts) and the platform names none of them.
 */
export interface System {
  /** The URL segment under /api/v1, the Postgres schema and the `system` of its events. */
  name: string;
  /** What it is, for people: the API description lists it. */
  title: string;
  /**
   * Its HTTP routes, loaded by the first request (a dynamic import the bundler keeps lazy): building
   * route schemas is most of a Worker's startup, and a cron or a queue batch never needs them.
   */
  routes: () => Promise<OpenAPIHono<AppEnv>>;
  /** Jobs by the cron that runs them. */
  jobs?: Partial<Record<Cron, ScheduledJob[]>>;
  /** Consumers of this system's own events, by event type: other systems' events never reach them. */
  consumers?: Record<string, EventConsumer[]>;
  /** The Redis keys it writes, by purpose: one place to read its cache layout. */
  cacheKeys?: Record<string, (...parts: string[]) => string>;
  /** Its documentation pages, relative to the repository root. */
  docs: string[];
}

/** Identity function that checks a system module against the contract where it is written. */
export const defineSystem = <S extends System>(system: S): S => system;

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
