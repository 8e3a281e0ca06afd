import { OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import { sql } from "drizzle-orm";
import type { AppEnv } from "./context";
import { handleError } from "./errors";
import { limitBody, requestId, requireAuth, requireJson, services } from "./middleware";
import { ApiError } from "./problem";
import { meRoutes } from "./me.routes";
import { rateLimit } from "./rate-limit";
import type { System } from "./system";

/**
 * /docs loads nothing from a third party, so it works offline: the UI bundle is a static asset of
 * this Worker (public/, wrangler.toml [assets]), system fonts replace the CDN-hosted ones, and no
 * telemetry is sent.
 */
const REFERENCE_UI = { cdn: "/docs/scalar-api-reference-1.72.1.js", withDefaultFonts: false, telemetry: false, defaultOpenAllTags: true };

/** The HTTP app: platform middleware, liveness/readiness, API description, and the systems' routers. */
export async function createApp(systems: readonly System[]) {
  const parts = await Promise.all(systems.map((s) => s.load()));
  const routers = parts.map((p) => p.router);
  const apiKeys = new Map(systems.flatMap((s, i) => (parts[i]!.apiKey ? [[`/api/v1/${s.name}/`, parts[i]!.apiKey!] as const] : [])));
  const apiKeyFor = (path: string) => [...apiKeys].find(([prefix]) => path.startsWith(prefix))?.[1];
  const signed = systems.flatMap((s, i) => (parts[i]!.signedRoutes ?? []).map((p) => routePattern(`/api/v1/${s.name}${p}`)));
  const bodyTypes = new Map<string, readonly string[]>(systems.flatMap((s, i) => Object.entries(parts[i]!.bodyTypes ?? {}).map(([p, types]) => [`/api/v1/${s.name}${p}`, types] as const)));
  const app = new OpenAPIHono<AppEnv>();
  app.use("*", requestId());
  app.onError(handleError);

  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/ready", services(), async (c) => {
    const { db, redis } = c.var;
    const checks = await Promise.allSettled([db.execute(sql`select 1`), redis.ping()]);
    const failed = (["postgres", "redis"] as const).filter((_, i) => checks[i]?.status === "rejected");
    if (failed.length) {
      throw new ApiError(503, "dependency_unavailable", `not ready: ${failed.join(" and ")} unreachable`, { failed });
    }
    return c.json({ status: "ready", checks: { postgres: "ok", redis: "ok" } });
  });

  app.use("/api/*", limitBody(), requireJson((path) => bodyTypes.get(path) ?? []), services(), requireAuth(apiKeyFor, (path) => signed.some((pattern) => pattern.test(path))), rateLimit());
  app.route("/api/v1", meRoutes);
  systems.forEach((system, i) => {
    // Which system a request is for: what relayAfterResponse may flush to this Worker's queue.
    app.use(`/api/v1/${system.name}/*`, async (c, next) => {
      c.set("system", system.name);
      await next();
    });
    app.route(`/api/v1/${system.name}`, routers[i]!);
  });

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer", bearerFormat: "JWT" });
  if (apiKeys.size) {
    app.openAPIRegistry.registerComponent("securitySchemes", "apiKeyAuth", {
      type: "http",
      scheme: "ApiKey",
      description: "Authorization: ApiKey <key>, on the routes of the systems that issue keys (their docs say how)",
    });
  }
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: { title: "Edge API platform", version: "1.0.0", description: systems.map((s) => `${s.title}: /api/v1/${s.name}`).join("; ") },
    security: [{ bearerAuth: [] }],
  });
  app.get("/docs", Scalar({ url: "/openapi.json", pageTitle: "Edge API reference", ...REFERENCE_UI }));

  app.notFound((c) => {
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length) {
      throw new ApiError(405, "method_not_allowed", `${c.req.method} is not allowed here; use ${allowed.join(", ")}`, {}, { Allow: allowed.join(", ") });
    }
    throw new ApiError(404, "route_not_found", `no route matches ${c.req.method} ${c.req.path}`);
  });
  return app;
}

/** A route path as a whole-path pattern: each `{param}` one segment, everything else literal. */
function routePattern(path: string): RegExp {
  const literal = path.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
  return new RegExp(`^${literal.replace(/\{[A-Za-z][A-Za-z0-9]*\}/g, "[^/]+")}$`);
}

/** The methods other routes answer on this path: what turns a 404 into a 405 with Allow. */
function allowedMethods(app: OpenAPIHono<AppEnv>, path: string): string[] {
  const methods = new Set<string>();
  for (const route of app.routes) {
    if (route.method === "ALL") continue;
    const pattern = new RegExp(`^${route.path.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\/:[^/]+/g, "/[^/]+").replace(/\*/g, ".*")}$`);
    if (pattern.test(path)) methods.add(route.method);
  }
  return [...methods].sort();
}
