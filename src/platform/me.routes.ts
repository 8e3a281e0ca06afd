import { createRoute, z } from "@hono/zod-openapi";
import { problemResponses } from "./openapi";
import { createRouter } from "./router";

const Me = z
  .object({
    userId: z.uuid(),
    tenantId: z.string().nullable(),
    roles: z.array(z.string()),
    permissions: z.array(z.string()),
  })
  .openapi("Principal");

/** Who the bearer token says the caller is: the quickest check of a token against this deployment. */
export const meRoutes = createRouter().openapi(
  createRoute({
    method: "get",
    path: "/me",
    tags: ["platform"],
    summary: "The authenticated caller",
    responses: {
      200: { description: "The caller's identity", content: { "application/json": { schema: Me } } },
      ...problemResponses(401, 429),
    },
  }),
  (c) => c.json(c.var.principal!, 200),
);
