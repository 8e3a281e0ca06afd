import type { RouteConfig } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { hasRole, type Principal } from "../platform/auth";
import type { AppEnv } from "../platform/context";
import { runAs, type Database } from "../platform/db";
import { ApiError } from "../platform/problem";
import { defineRoute, type RouteError } from "../platform/route";
import { bumpInputsGeneration, changesJudgmentInputs } from "./inputs-generation";
import { USER_ROLES } from "./schema";

export type FactoryRole = (typeof USER_ROLES)[number];

/**
 * The §2.2 RBAC matrix as written. factory.role_permissions() (migration 0015) is the same matrix
 * in SQL, where factory.authorize() and the row-level security policies read it; a test compares
 * the two, so code and database cannot drift.
 */
export const ROLE_PERMISSIONS: Record<FactoryRole, readonly string[]> = {
  admin: ["*:*"],
  approver: ["judgment:*", "workflow:read", "approval:*", "rule:approve", "deployment:approve"],
  operator: ["judgment:read", "judgment:execute", "workflow:read", "workflow:execute", "bi:read"],
  viewer: ["judgment:read", "workflow:read", "bi:read", "mcp:read"],
};

/** `resource:action`, either part `*`: what users.permissions holds and routes declare. */
export const PERMISSION_PATTERN = /^([a-z][a-z_]{0,39}|\*):([a-z][a-z_]{0,39}|\*)$/;

/** Whether `granted` covers `permission`: the permission itself, `resource:*` or `*:*` (factory.permission_granted()). */
export function permissionGranted(granted: readonly string[], permission: string): boolean {
  const resource = permission.split(":")[0];
  return granted.some((g) => g === "*:*" || g === permission || g === `${resource}:*`);
}

/** A user's permissions: the role's, widened by users.permissions, each once. */
export const effectivePermissions = (role: FactoryRole, extra: readonly string[]) => [...new Set([...ROLE_PERMISSIONS[role], ...extra])];

/**
 * The token role of whoever runs the platform above tenants: creates, suspends and re-plans
 * tenants and their first admin. Not a users.role (the spec's `operator` is a tenant's role).
 */
export const PLATFORM_OPERATOR = "platform_operator";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The caller's tenant (tenants.id) as factory.caller_tenant() reads the token; a 403 naming why when the token names none. */
export function tenantOf(principal: Principal): string {
  if (principal.tenantId && UUID.test(principal.tenantId)) return principal.tenantId.toLowerCase();
  throw new ApiError(403, "tenant_unknown", "the token names no factory tenant: its tenant_id must be the id of a tenant", { reason: "tenant_unknown" });
}

/** What the OpenAPI document carries per factory route: the one permission it needs, or the platform operator's role. */
export interface FactoryAccess {
  /** null: any active user of the tenant (GET /me). */
  "x-permission"?: string | null;
  "x-platform-role"?: typeof PLATFORM_OPERATOR;
}

const withLine = (description: string | undefined, line: string) => (description ? `${description}\n\n${line}` : line);

/**
 * defineRoute() for a route of a tenant's users: `permission` is the one permission it needs
 * (null: none, any active user of the tenant), shown in the OpenAPI document (`x-permission` and
 * a line of the description) and checked by runFactory() with that route. Every such route can
 * answer 403.
 */
export function factoryRoute<R extends RouteConfig, E extends RouteError = never>(config: R & { permission: string | null }, ...errors: E[]) {
  const { permission, ...route } = config;
  if (permission !== null && !PERMISSION_PATTERN.test(permission)) throw new TypeError(`not a permission: ${permission}`);
  const line = permission === null ? "Permission: none (any active user of the tenant)" : `Permission: \`${permission}\``;
  return defineRoute({ ...(route as unknown as R), description: withLine(route.description, line), "x-permission": permission }, ...([403, ...errors] as (E | 403)[]));
}

/** defineRoute() for a route above tenants: only the platform operator's token role may call it (platformOperator()). */
export function platformRoute<R extends RouteConfig, E extends RouteError = never>(config: R, ...errors: E[]) {
  return defineRoute(
    { ...config, description: withLine(config.description, `Role: \`${PLATFORM_OPERATOR}\` (a token role, above tenants)`), "x-platform-role": PLATFORM_OPERATOR },
    ...([403, ...errors] as (E | 403)[]),
  );
}

/** The caller, when they hold the platform operator's token role (the same test as app.has_role() in the policies); else 403. */
export function platformOperator(principal: Principal | null): Principal {
  if (principal && hasRole(principal, PLATFORM_OPERATOR)) return principal;
  throw new ApiError(403, "platform_operator_required", `only the ${PLATFORM_OPERATOR} token role may manage tenants`, { role: PLATFORM_OPERATOR });
}

/** The statement that refuses the caller (SQLSTATE FA403) unless they may use `permission`: first in every factory batch. */
export const authorizeStatement = (db: Database, permission: string | null) => db.execute(sql`select factory.authorize(${permission}::text)`);

/** factory.authorize()'s refusal as the 403 problem naming why (reason code and permission), or null for any other error. */
export function refusalOf(err: unknown): ApiError | null {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    const { code, message, detail, hint } = e as { code?: unknown; message?: string; detail?: string; hint?: string };
    if (code === "FA403") {
      const reason = detail ?? "forbidden";
      return new ApiError(403, reason, message ?? "forbidden", { reason, ...(reason === "permission_missing" && hint ? { permission: hint } : {}) });
    }
  }
  return null;
}

type Results<T extends readonly BatchItem<"pg">[]> = { [K in keyof T]: Awaited<T[K]> };

/**
 * Runs a factory route's statements as the caller in one round trip: factory.authorize() with the
 * route's permission first, so an unknown, inactive or locked user, a suspended tenant or a
 * missing permission stops the batch before anything is read or written (a 403 naming why).
 * After a write that can change a judgment's inputs, the tenant's inputs generation is bumped.
 */
export async function runFactory<T extends readonly BatchItem<"pg">[]>(
  c: Context<AppEnv>,
  route: FactoryAccess,
  statements: T,
): Promise<Results<T>> {
  const permission = route["x-permission"];
  if (permission === undefined) throw new TypeError("runFactory needs a route declared with factoryRoute()");
  const { db, principal, redis, config } = c.var;
  const tenantId = principal ? tenantOf(principal) : null;
  let results: unknown[];
  try {
    [, ...results] = await runAs(db, principal, [authorizeStatement(db, permission), ...statements] as const);
  } catch (err) {
    throw refusalOf(err) ?? err;
  }
  if (tenantId && changesJudgmentInputs(permission)) await bumpInputsGeneration(redis, config, tenantId);
  return results as unknown as Results<T>;
}
