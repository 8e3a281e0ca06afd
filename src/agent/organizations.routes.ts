import { z } from "@hono/zod-openapi";
import { eq, sql } from "drizzle-orm";
import { hasRole, requireRole } from "../platform/auth";
import { runAs } from "../platform/db";
import { JsonObject, patchBody } from "../platform/input";
import { notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { uuidParams } from "../platform/schemas";
import { columnsOf, insertSchema, rowSchema } from "../platform/table-schema";
import { agentRoute, callerOrg, OPERATOR_ROLE } from "./access";
import { cacheDailyLimit } from "./quota";
import { organizations } from "./schema";

export const Organization = rowSchema(organizations, { settings: JsonObject.nullable() }).openapi("AgentOrganization");

const Limit = (max: number, what: string) => z.int().min(0).max(max).openapi({ description: what });
const limits = {
  maxUsers: () => Limit(1_000_000, "Active users the organization may have"),
  maxDailyRequests: () => Limit(2_000_000_000, "Agent API requests per UTC day"),
  maxMonthlyTokens: () => Limit(2_000_000_000, "Tokens per calendar month (UTC)"),
};
const fields = {
  name: () => z.string().trim().min(1).max(255),
  slug: () => z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$/, "must be lowercase letters, digits and inner hyphens").max(100),
  settings: () => JsonObject,
  ...limits,
};

const OrganizationInput = insertSchema(organizations, fields)
  .pick({ name: true, slug: true, settings: true, maxUsers: true, maxDailyRequests: true, maxMonthlyTokens: true })
  .strict()
  .openapi("AgentOrganizationInput");
const OrganizationPatch = patchBody(
  insertSchema(organizations, { ...fields, isActive: () => z.boolean() })
    .pick({ name: true, settings: true, maxUsers: true, maxDailyRequests: true, maxMonthlyTokens: true, isActive: true })
    .partial()
    .strict(),
).openapi("AgentOrganizationPatch");

const tags = ["agent"];
const IdParam = uuidParams("id");

const createOrganization = agentRoute(
  {
    method: "post",
    path: "/organizations",
    tags,
    summary: "Create an organization (operators); its id is the tenant_id of its members' tokens",
    request: { body: jsonBody(OrganizationInput) },
    responses: { 201: json(Organization, "Created") },
  },
  403,
  409,
);

const getOrganization = agentRoute(
  {
    method: "get",
    path: "/organizations/{id}",
    tags,
    summary: "An organization: the caller's own (operators: any)",
    request: { params: IdParam },
    responses: { 200: json(Organization, "The organization") },
  },
  404,
);

const updateOrganization = agentRoute(
  {
    method: "patch",
    path: "/organizations/{id}",
    tags,
    summary: "Change an organization's name, settings, limits (quotas) or status: its admins, or operators",
    request: { params: IdParam, body: jsonBody(OrganizationPatch) },
    responses: { 200: json(Organization, "Changed") },
  },
  403,
  404,
);

export const organizationRoutes = createRouter()
  .openapi(createOrganization, async (c) => {
    const { db, redis, config } = c.var;
    const principal = c.var.principal!;
    requireRole(principal, [OPERATOR_ROLE], "create an organization");
    const [rows] = await runAs(db, principal, [db.insert(organizations).values(c.req.valid("json")).returning()] as const);
    await cacheDailyLimit(redis, config, rows[0]!.id, rows[0]!.maxDailyRequests);
    return c.json(rows[0]!, 201);
  })
  .openapi(getOrganization, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const [rows] = await runAs(db, c.var.principal, [db.select(columnsOf(organizations)).from(organizations).where(eq(organizations.id, id))] as const);
    if (!rows[0]) throw notFound(`organization ${id}`);
    return c.json(rows[0], 200);
  })
  .openapi(updateOrganization, async (c) => {
    const { db, redis, config } = c.var;
    const principal = c.var.principal!;
    const { id } = c.req.valid("param");
    const operator = hasRole(principal, OPERATOR_ROLE);
    if (!operator) requireRole(principal, ["admin"], "change an organization");
    // An admin of another organization learns nothing about it: same answer as a missing one.
    if (!operator && callerOrg(principal) !== id.toLowerCase()) throw notFound(`organization ${id}`);
    const [rows] = await runAs(db, principal, [
      db.update(organizations).set({ ...c.req.valid("json"), updatedAt: sql`now()` }).where(eq(organizations.id, id)).returning(),
    ] as const);
    if (!rows[0]) throw notFound(`organization ${id}`);
    await cacheDailyLimit(redis, config, rows[0].id, rows[0].maxDailyRequests);
    return c.json(rows[0], 200);
  });
