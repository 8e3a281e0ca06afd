import { z } from "@hono/zod-openapi";
import { defineRoute, json } from "./route";
import { createRouter } from "./router";

const Me = z
  .object({
    userId: z.uuid().openapi({ description: "The id every system keys this caller by: the subject when it is a UUID, else its UUIDv5" }),
    subject: z.string().openapi({ description: "The token's sub, as the identity provider issued it" }),
    issuer: z.string().openapi({ description: "The token's iss" }),
    tenantId: z.string().nullable(),
    roles: z.array(z.string()).openapi({ description: "The token's roles that are role names; others are ignored" }),
    permissions: z.array(z.string()),
  })
  .openapi("Principal");

/** Who the bearer token says the caller is: the quickest check of a token against this deployment. */
export const meRoutes = createRouter().openapi(
  defineRoute({
    method: "get",
    path: "/me",
    tags: ["platform"],
    summary: "The authenticated caller",
    responses: { 200: json(Me, "The caller's identity") },
  }),
  (c) => {
    const { userId, tenantId, roles, permissions, token } = c.var.principal!;
    return c.json({ userId, subject: token!.subject, issuer: token!.issuer, tenantId, roles, permissions }, 200);
  },
);
