import { z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { json } from "../platform/route";
import { createRouter } from "../platform/router";
import { effectivePermissions, factoryRoute, runFactory } from "./access";
import { tenants, users } from "./schema";
import { userColumns } from "./user-sql";
import { User } from "./users.routes";

const Me = z
  .object({
    user: User,
    tenant: z.object({ id: z.uuid(), name: z.string(), displayName: z.string(), status: z.string() }),
    permissions: z.array(z.string()).openapi({ description: "The role's permissions (§2.2) widened by users.permissions" }),
  })
  .openapi("FactoryMe");

const getMe = factoryRoute({
  method: "get",
  path: "/me",
  tags: ["factory"],
  summary: "The caller as a user of their tenant, with their effective permissions",
  permission: null,
  responses: { 200: json(Me, "The caller") },
});

export const meRoutes = createRouter().openapi(getMe, async (c) => {
  const { db } = c.var;
  const [rows] = await runFactory(c, getMe, [
    db
      .select({ user: userColumns, tenant: { id: tenants.id, name: tenants.name, displayName: tenants.displayName, status: tenants.status } })
      .from(users)
      .innerJoin(tenants, eq(tenants.id, users.tenantId))
      .where(eq(users.id, c.var.principal!.userId)),
  ] as const);
  // factory.authorize() admitted the caller, so their row is there.
  const { user, tenant } = rows[0]!;
  return c.json({ user, tenant, permissions: effectivePermissions(user.role, user.permissions) }, 200);
});
