import { createRoute, type RouteConfig, type z } from "@hono/zod-openapi";
import { ProblemSchema } from "./openapi";

/** Statuses a route answers itself, beyond what the platform answers for every route. */
export type RouteError = 403 | 404 | 409;

const DESCRIPTIONS: Record<number, string> = {
  400: "Malformed JSON body",
  401: "Missing or invalid bearer token",
  403: "Not allowed for this caller (every route refuses the reserved service role)",
  404: "Not found, or not visible to this caller",
  409: "Conflict with the current state",
  413: "Body too large",
  415: "Body is not JSON",
  422: "Validation failed",
  429: "Rate limit exceeded",
  503: "Misconfigured, or a dependency (signing keys) is unavailable",
};

type Problem = { description: string; content: { "application/problem+json": { schema: typeof ProblemSchema } } };
const problem = (status: number): Problem => ({
  description: DESCRIPTIONS[status] ?? "Error",
  content: { "application/problem+json": { schema: ProblemSchema } },
});

/** What the platform itself can answer on any route under /api: authentication, the reserved role, the rate limit, configuration. */
const ALWAYS = [401, 403, 429, 503] as const;
type Always = (typeof ALWAYS)[number];
/** Any route with parameters, a query or a body can fail validation. */
type Validated = 422;
/** Writes: the body cap and the JSON-only rule hold even where a route takes no body. */
type Writes = 413 | 415;
/** A JSON body can be malformed. */
type WithBody = 400;

type Standard = Always | Validated | Writes | WithBody;

/**
 * createRoute() plus every problem response the route can give: the platform's own (computed from
 * the route's method and request parts) and the statuses the route itself answers (`errors`).
 * So the OpenAPI document lists exactly what a route can answer; a test checks every response
 * against it (test/worker/helpers.ts).
 */
export function defineRoute<R extends RouteConfig, E extends RouteError = never>(
  config: R,
  ...errors: E[]
): R & { responses: R["responses"] & Record<Standard | E, Problem> } {
  const request = config.request ?? {};
  const statuses: number[] = [...ALWAYS, ...errors];
  if (request.params || request.query || request.body) statuses.push(422);
  if (["post", "put", "patch"].includes(config.method)) statuses.push(413, 415);
  if (request.body) statuses.push(400);
  const responses = { ...config.responses };
  for (const status of statuses) (responses as Record<number, unknown>)[status] ??= problem(status);
  return createRoute({ ...config, responses }) as never;
}

/** A JSON response entry. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** A JSON request body; an optional one may be left out, with or without a Content-Type (it reads as `{}`). */
export const jsonBody = <T extends z.ZodType>(schema: T, { required = true } = {}) => ({ required, content: { "application/json": { schema } } });
