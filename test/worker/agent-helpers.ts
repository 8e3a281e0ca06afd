import { Redis } from "@upstash/redis/cloudflare";
import { expect } from "vitest";
import type { Principal } from "../../src/platform/auth";
import { loadConfig } from "../../src/platform/config";
import { createDatabase } from "../../src/platform/db";
import { call, testEnv, token } from "./helpers";

/** Test-side access as the API's own role (RLS checks and seeding, never through the routes). */
export const db = createDatabase(loadConfig(testEnv), "agent-test");

/** Redis as it is, values unparsed: to check the exact hash and keys the API writes. */
export const rawRedis = new Redis({ url: testEnv.REDIS_URL!, token: testEnv.UPSTASH_REDIS_REST_TOKEN!, automaticDeserialization: false, enableTelemetry: false });

export interface Member {
  userId: string;
  bearer: string;
  email: string;
}

/** A token of the organization `orgId` for a new user (or `userId`) holding `roles`, with an email claim. */
export async function member(orgId: string, roles: string[] = [], userId: string = crypto.randomUUID()): Promise<Member> {
  const email = `${userId}@agent.test`;
  return { userId, email, bearer: await token({ sub: userId, tenant_id: orgId, roles, email }) };
}

export const operator = () => token({ roles: ["operator"] });

/** A new organization (created by an operator) and its first admin, provisioned from their token. */
export async function organization(limits: Record<string, number> = {}): Promise<{ orgId: string; admin: Member }> {
  const created = await call("POST", "/api/v1/agent/organizations", { token: await operator(), body: { name: "Test org", ...limits } });
  expect(created.status).toBe(201);
  const orgId: string = created.body.id;
  const admin = await member(orgId, ["admin"]);
  expect((await call("POST", "/api/v1/agent/users/me", { token: admin.bearer })).status).toBe(201);
  return { orgId, admin };
}

/** A provisioned user of the organization holding `roles` (the admin provisions them with the matching users.role). */
export async function provisioned(orgId: string, admin: Member, roles: string[] = []): Promise<Member> {
  const m = await member(orgId, roles);
  const role = ["admin", "manager", "user", "viewer"].find((r) => roles.includes(r)) ?? "user";
  const res = await call("POST", "/api/v1/agent/users", { token: admin.bearer, body: { id: m.userId, email: m.email, role } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return m;
}

/** Whom a test-side statement runs as: `userId` of organization `orgId` holding `roles`. */
export const as = (orgId: string | null, userId: string, roles: string[] = []): Principal => ({ userId, tenantId: orgId, roles, permissions: [] });

/** A Redis hash's fields as stored (strings), or null when the key is absent. */
export async function storedHash(key: string): Promise<Record<string, string> | null> {
  const flat = (await rawRedis.hgetall(key)) as unknown as string[] | null;
  if (!flat || flat.length === 0) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}
