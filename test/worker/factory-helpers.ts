import { expect } from "vitest";
import type { Principal } from "../../src/platform/auth";
import { loadConfig } from "../../src/platform/config";
import { createDatabase, runAs } from "../../src/platform/db";
import { PLATFORM_OPERATOR, type FactoryRole } from "../../src/factory/access";
import { tenants, users, USER_STATUSES } from "../../src/factory/schema";
import { call, testEnv, token } from "./helpers";

/** Test-side access as the API's own role (RLS checks and seeding, never through the routes). */
export const db = createDatabase(loadConfig(testEnv), "factory-test");

/** Whom a test-side statement runs as. */
export const as = (tenantId: string | null, userId: string, roles: string[] = []): Principal => ({ userId, tenantId, roles, permissions: [] });

/** The platform operator (a token role above tenants), as a principal for test-side statements. */
export const platformPrincipal = (): Principal => as(null, crypto.randomUUID(), [PLATFORM_OPERATOR]);

export interface FactoryUser {
  userId: string;
  tenantId: string;
  role: FactoryRole;
  bearer: string;
}

/** A bearer token for `userId` of tenant `tenantId` (sub and tenant_id claims, no roles: the factory reads users.role). */
export const bearerOf = (tenantId: string, userId: string, roles: string[] = []) => token({ sub: userId, tenant_id: tenantId, roles });

/** A user row of the tenant, inserted test-side as the platform operator. */
export async function seedUser(
  tenantId: string,
  role: FactoryRole,
  options: { status?: (typeof USER_STATUSES)[number]; permissions?: string[] } = {},
): Promise<FactoryUser> {
  const userId = crypto.randomUUID();
  await runAs(db, platformPrincipal(), [
    db.insert(users).values({
      id: userId,
      tenantId,
      email: `${userId}@factory.test`,
      username: `${role}-${userId.slice(0, 8)}`,
      passwordHash: "!",
      role,
      status: options.status ?? "active",
      permissions: options.permissions ?? [],
    }),
  ] as const);
  return { userId, tenantId, role, bearer: await bearerOf(tenantId, userId) };
}

/** A tenant and its admin, inserted test-side as the platform operator. */
export async function seedTenant(values: Partial<typeof tenants.$inferInsert> = {}): Promise<{ tenantId: string; admin: FactoryUser }> {
  const name = `t-${crypto.randomUUID()}`;
  const [rows] = await runAs(db, platformPrincipal(), [db.insert(tenants).values({ name, displayName: name, ...values }).returning({ id: tenants.id })] as const);
  const tenantId = rows[0]!.id;
  expect(tenantId).toBeTruthy();
  return { tenantId, admin: await seedUser(tenantId, "admin") };
}

/** A platform operator's bearer token (the token role above tenants). */
export const operatorBearer = () => token({ roles: [PLATFORM_OPERATOR] });

/** A tenant and its first admin created through the API by the platform operator; the admin's token carries `subject`. */
export async function createdTenant(values: Record<string, unknown> = {}) {
  const subject = crypto.randomUUID();
  const name = `plant-${crypto.randomUUID().slice(0, 18)}`;
  const res = await call("POST", "/api/v1/factory/platform/tenants", {
    token: await operatorBearer(),
    body: { name, displayName: `Plant ${name}`, ...values, admin: { subject, email: `${subject}@factory.test`, username: "admin" } },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const tenantId: string = res.body.tenant.id;
  const admin: FactoryUser = { userId: subject, tenantId, role: "admin", bearer: await bearerOf(tenantId, subject) };
  return { tenantId, admin, body: res.body, requestId: res.requestId };
}
