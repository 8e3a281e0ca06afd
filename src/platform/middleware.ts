import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { authenticate, hasRole, MAX_AUTHORIZATION_BYTES, SERVICE_ROLE } from "./auth";
import { Cache } from "./cache";
import { loadConfig } from "./config";
import type { AppEnv } from "./context";
import { createDatabase } from "./db";
import { ApiError } from "./problem";
import { createRedis } from "./redis";
import type { ApiKeyAuthenticator } from "./system";

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;
/** Large enough for a 1000-event ingest batch; anything bigger is refused before it is read. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Keeps the caller's X-Request-Id when it is sane, else mints one; echoes it on every response. */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const offered = c.req.header("X-Request-Id");
    const id = offered && SANE_REQUEST_ID.test(offered) ? offered : crypto.randomUUID();
    c.set("requestId", id);
    c.header("X-Request-Id", id);
    await next();
    c.res.headers.set("X-Request-Id", id);
  };
}

export function limitBody(): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError(413, "body_too_large", `the request body exceeds ${MAX_BODY_BYTES} bytes`);
    },
  });
}

/**
 * Bodies are JSON: anything else is refused before validation could mistake it for an empty body.
 * An empty body is no body, whatever its Content-Type: clients and proxies send body-less POSTs
 * (action routes) with `Content-Length: 0` or an empty stream, and such a request then reads
 * exactly like one without a body (no body: no schema, an optional one, or a 422 when required).
 */
export function requireJson(otherTypes: (path: string) => readonly string[] = () => []): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (["POST", "PUT", "PATCH"].includes(c.req.method) && c.req.raw.body !== null) {
      if ((await c.req.arrayBuffer()).byteLength === 0) {
        const headers = new Headers(c.req.raw.headers);
        headers.delete("Content-Type");
        headers.delete("Content-Length");
        c.req.raw = new Request(c.req.raw.url, { method: c.req.method, headers });
      } else if (!/^application\/([a-z.+-]*\+)?json\s*(;|$)/i.test(c.req.header("Content-Type") ?? "") && !otherTypes(c.req.path).includes(mediaType(c.req.header("Content-Type")))) {
        throw new ApiError(415, "unsupported_media_type", "request bodies must be application/json", {}, { Accept: "application/json" });
      }
    }
    await next();
  };
}

/** The media type of a Content-Type value, lower case, without parameters. */
const mediaType = (contentType: string | undefined) => (contentType ?? "").split(";")[0]!.trim().toLowerCase();

/** Parses configuration (once per isolate) and builds the request's clients; no I/O happens here. */
export function services(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const config = loadConfig(c.env);
    const id = c.get("requestId");
    const redis = createRedis(config, id);
    c.set("config", config);
    c.set("redis", redis);
    c.set("cache", new Cache(redis, config));
    c.set("db", createDatabase(config, id));
    await next();
  };
}

/** `Authorization: ApiKey <key>` (the scheme name in any case, RFC 9110); the key's own grammar is the system's. */
const API_KEY_HEADER = /^ApiKey ([\x21-\x7e]{1,512})$/i;

/**
 * The caller from the bearer token, or from an API key where the request's system accepts one
 * (`apiKeyFor` finds that system's authenticator by path). A key on any other route is refused
 * exactly as before: as an Authorization that is not a Bearer token.
 */
export function requireAuth(
  apiKeyFor: (path: string) => ApiKeyAuthenticator | undefined = () => undefined,
  signedRoute: (path: string) => boolean = () => false,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // A system's signed route (SystemParts.signedRoutes) checks its own signature: no principal here.
    if (signedRoute(c.req.path)) return next();
    const authorization = c.req.header("Authorization");
    const apiKey = authorization && authorization.length <= MAX_AUTHORIZATION_BYTES ? API_KEY_HEADER.exec(authorization) : null;
    const viaKey = apiKey ? apiKeyFor(c.req.path) : undefined;
    const principal = viaKey ? await viaKey(apiKey![1]!, c) : await authenticate(authorization, c.var.config);
    if (hasRole(principal, SERVICE_ROLE)) {
      throw new ApiError(403, "service_role_reserved", "the service role belongs to scheduled jobs, not to API callers");
    }
    c.set("principal", principal);
    await next();
  };
}
