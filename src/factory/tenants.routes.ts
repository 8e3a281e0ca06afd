import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { freeJson, JsonObject, patchBody } from "../platform/input";
import { keyset } from "../platform/paging";
import { ApiError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { runAs } from "../platform/db";
import { pageOf, PageQuery, uuidParams } from "../platform/schemas";
import { rowSchema } from "../platform/table-schema";
import { userIdFor } from "../platform/user-id";
import { factoryRoute, platformOperator, platformRoute, runFactory, tenantOf } from "./access";
import { audited, changedRows, operatorActor, userActor } from "./audit";
import { bumpInputsGeneration } from "./inputs-generation";
import { SUBSCRIPTION_PLANS, TENANT_STATUSES, tenants, users } from "./schema";
import { MonitoringThresholds } from "./monitors";
import { NotificationConfig } from "./notification-config";
import { DataRetention } from "./retention-sql";
import { insertUser, shownUser } from "./user-sql";
import { settingsKeepingSecrets, shownTenant } from "./tenant-secrets";
import { NewUserInput, User } from "./users.routes";

/**
 * Tenants (§2.1). The platform operator (token role, above tenants) creates a tenant with its
 * first admin, changes its plan and limits, suspends and reactivates it; the tenant's admins
 * read it and change its display name and settings (tenant:read, tenant:write).
 */
const Settings = freeJson(
  z
    .object({
      timezone: z.string().max(64),
      locale: z.string().max(35),
      features_enabled: z.array(z.string().max(64)).max(64),
      llm_config: z.record(z.string(), z.unknown()),
      notification_config: NotificationConfig,
      monitoring_thresholds: MonitoringThresholds,
      data_retention: DataRetention,
    })
    .partial()
    .catchall(z.unknown()),
).openapi({
  description:
    "{timezone, locale, features_enabled[], llm_config{}, notification_config{}, data_retention{}} (§2.1) and monitoring_thresholds{} (docs/factory-monitoring.md); other keys are kept",
});
export const Tenant = rowSchema(tenants, { settings: JsonObject }).openapi("FactoryTenant");
const TenantPage = pageOf(Tenant, "FactoryTenantPage");
const Limit = z.number().int().min(0).max(1_000_000_000);
const Name = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, "must be 2-63 lowercase letters, digits or -, starting with a letter or digit");
const DisplayName = z.string().trim().min(1).max(200);
const PlatformPatch = z
  .object({ displayName: DisplayName, settings: Settings, subscriptionPlan: z.enum(SUBSCRIPTION_PLANS), maxUsers: Limit, maxWorkflows: Limit, maxJudgmentsPerDay: Limit })
  .partial()
  .strict();
const NewTenant = PlatformPatch.extend({
  name: Name,
  displayName: DisplayName,
  admin: NewUserInput.omit({ role: true, permissions: true }).openapi({ description: "The tenant's first admin (users.role admin)" }),
})
  .strict()
  .openapi("FactoryTenantInput");
const CreatedTenant = z.object({ tenant: Tenant, admin: User }).openapi("FactoryTenantCreated");
const OwnPatch = patchBody(z.object({ displayName: DisplayName, settings: Settings }).partial().strict()).openapi("FactoryOwnTenantPatch");

const tags = ["factory"];

const createTenant = platformRoute(
  {
    method: "post",
    path: "/platform/tenants",
    tags,
    summary: "Create a tenant and its first admin; audited",
    request: { body: jsonBody(NewTenant) },
    responses: { 201: json(CreatedTenant, "Created") },
  },
  409,
);
const listTenants = platformRoute({
  method: "get",
  path: "/platform/tenants",
  tags,
  summary: "Every tenant, oldest first",
  request: { query: z.object({ ...PageQuery, status: z.enum(TENANT_STATUSES).optional() }) },
  responses: { 200: json(TenantPage, "A page of tenants") },
});
const getTenant = platformRoute(
  { method: "get", path: "/platform/tenants/{id}", tags, summary: "A tenant", request: { params: uuidParams("id") }, responses: { 200: json(Tenant, "The tenant") } },
  404,
);
const changeTenant = platformRoute(
  {
    method: "patch",
    path: "/platform/tenants/{id}",
    tags,
    summary: "Change a tenant's display name, settings, plan or limits; audited",
    request: { params: uuidParams("id"), body: jsonBody(patchBody(PlatformPatch).openapi("FactoryTenantPatch")) },
    responses: { 200: json(Tenant, "Changed") },
  },
  404,
);
const moveTenant = (action: "suspend" | "activate") =>
  platformRoute(
    {
      method: "post",
      path: `/platform/tenants/{id}/${action}`,
      tags,
      summary:
        action === "suspend"
          ? "Suspend an active tenant: its users' next requests are refused (403 tenant_suspended); audited"
          : "Reactivate a suspended tenant; audited",
      request: { params: uuidParams("id") },
      responses: { 200: json(Tenant, action === "suspend" ? "Suspended" : "Active again") },
    },
    404,
    409,
  );
const suspendTenant = moveTenant("suspend");
const activateTenant = moveTenant("activate");
const getOwn = factoryRoute({
  method: "get",
  path: "/tenant",
  tags,
  summary: "The caller's tenant",
  permission: "tenant:read",
  responses: { 200: json(Tenant, "The tenant") },
});
const changeOwn = factoryRoute({
  method: "patch",
  path: "/tenant",
  tags,
  summary: "Change the caller's tenant's display name or settings; audited",
  permission: "tenant:write",
  request: { body: jsonBody(OwnPatch) },
  responses: { 200: json(Tenant, "Changed") },
});

const byCreation = keyset([tenants.createdAt, tenants.id], "asc");

/** The tenant state transitions: from → to. */
/** A PATCH's columns, its settings keeping each secret sent back as KEPT_SECRET (tenant-secrets.ts). */
const withKeptSecrets = <P extends { settings?: Record<string, unknown> }>(patch: P) =>
  patch.settings === undefined ? patch : { ...patch, settings: settingsKeepingSecrets(patch.settings) };

const MOVES = { suspend: { from: "active", to: "suspended" }, activate: { from: "suspended", to: "active" } } as const;

export const tenantRoutes = createRouter()
  .openapi(createTenant, async (c) => {
    const { db, config } = c.var;
    const principal = platformOperator(c.var.principal);
    const { admin, ...input } = c.req.valid("json");
    const id = crypto.randomUUID();
    const actor = operatorActor(c);
    const adminUser = { ...admin, id: await userIdFor(config.API_JWT_ISSUER, admin.subject), email: admin.email.toLowerCase(), role: "admin" as const, permissions: [] };
    const [tenantRows, adminRows] = await runAs(db, principal, [
      audited(db, actor, { action: "create", resourceType: "tenant", table: tenants, tenantId: id, change: db.insert(tenants).values({ ...input, id }).returning() }),
      audited(db, actor, { action: "create", resourceType: "user", table: users, change: insertUser(db, id, adminUser) }),
    ] as const);
    const tenant = changedRows(tenants, tenantRows)[0]!;
    const first = changedRows(users, adminRows)[0];
    // max_users 0 leaves no seat even for the first admin: nothing is kept.
    if (!first) throw new ApiError(409, "max_users_reached", "max_users 0 leaves no seat for the tenant's first admin", { maxUsers: tenant.maxUsers });
    return c.json({ tenant: shownTenant(tenant), admin: shownUser(first) }, 201);
  })
  .openapi(listTenants, async (c) => {
    const { db } = c.var;
    const q = c.req.valid("query");
    const [rows] = await runAs(db, platformOperator(c.var.principal), [
      db
        .select({ ...byCreation.columns, tenant: tenants })
        .from(tenants)
        .where(and(q.status ? eq(tenants.status, q.status) : undefined, byCreation.after(q.cursor)))
        .orderBy(...byCreation.orderBy)
        .limit(q.limit + 1),
    ] as const);
    const page = byCreation.page(rows, q.limit);
    return c.json({ items: page.items.map((r) => shownTenant(r.tenant)), nextCursor: page.nextCursor }, 200);
  })
  .openapi(getTenant, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const [rows] = await runAs(db, platformOperator(c.var.principal), [db.select().from(tenants).where(eq(tenants.id, id))] as const);
    if (!rows[0]) throw notFound(`tenant ${id}`);
    return c.json(shownTenant(rows[0]), 200);
  })
  .openapi(changeTenant, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const where = eq(tenants.id, id);
    const change = db.update(tenants).set(withKeptSecrets(c.req.valid("json"))).where(where).returning();
    const [rows] = await runAs(db, platformOperator(c.var.principal), [
      audited(db, operatorActor(c), { action: "update", resourceType: "tenant", table: tenants, tenantId: id, where, change }),
    ] as const);
    const tenant = changedRows(tenants, rows)[0];
    if (!tenant) throw notFound(`tenant ${id}`);
    await bumpInputsGeneration(c.var.redis, c.var.config, id);
    return c.json(shownTenant(tenant), 200);
  })
  .openapi(suspendTenant, async (c) => c.json(shownTenant(await moveTo(c, c.req.valid("param").id, "suspend")), 200))
  .openapi(activateTenant, async (c) => c.json(shownTenant(await moveTo(c, c.req.valid("param").id, "activate")), 200))
  .openapi(getOwn, async (c) => {
    const { db } = c.var;
    const tenantId = tenantOf(c.var.principal!);
    const [rows] = await runFactory(c, getOwn, [db.select().from(tenants).where(eq(tenants.id, tenantId))] as const);
    return c.json(shownTenant(rows[0]!), 200);
  })
  .openapi(changeOwn, async (c) => {
    const { db } = c.var;
    const tenantId = tenantOf(c.var.principal!);
    const where = eq(tenants.id, tenantId);
    const change = db.update(tenants).set(withKeptSecrets(c.req.valid("json"))).where(where).returning();
    const [rows] = await runFactory(c, changeOwn, [audited(db, userActor(c), { action: "update", resourceType: "tenant", table: tenants, tenantId, where, change })] as const);
    return c.json(shownTenant(changedRows(tenants, rows)[0]!), 200);
  });

/** A conditional state change (from → to) with the current state read in the same batch: 404 or 409 when it did not apply. */
async function moveTo(c: Context<AppEnv>, id: string, action: keyof typeof MOVES) {
  const { db } = c.var;
  const { from, to } = MOVES[action];
  const where = and(eq(tenants.id, id), eq(tenants.status, from))!;
  const change = db.update(tenants).set({ status: to }).where(where).returning();
  const [rows, current] = await runAs(db, platformOperator(c.var.principal), [
    audited(db, operatorActor(c), { action, resourceType: "tenant", table: tenants, tenantId: id, where, change }),
    db.select({ status: tenants.status }).from(tenants).where(eq(tenants.id, id)),
  ] as const);
  const tenant = changedRows(tenants, rows)[0];
  if (tenant) {
    await bumpInputsGeneration(c.var.redis, c.var.config, id);
    return tenant;
  }
  if (!current[0]) throw notFound(`tenant ${id}`);
  throw new ApiError(409, "invalid_state", `tenant ${id} is ${current[0].status}; only a ${from} tenant can be ${action === "suspend" ? "suspended" : "activated"}`, {
    currentStatus: current[0].status,
  });
}
