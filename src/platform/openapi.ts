import { z } from "@hono/zod-openapi";

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem");

const DESCRIPTIONS: Record<number, string> = {
  400: "Malformed request",
  401: "Missing or invalid bearer token",
  403: "Not allowed for this caller",
  404: "Not found",
  409: "Conflict with the current state",
  413: "Body too large",
  415: "Body is not JSON",
  422: "Validation failed",
  429: "Rate limit exceeded",
  502: "An upstream source could not be reached or failed",
  504: "An upstream source did not answer in time",
};

/** Problem responses for a route's OpenAPI description. */
export function problemResponses<S extends number>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((s) => [s, { description: DESCRIPTIONS[s] ?? "Error", content: { "application/problem+json": { schema: ProblemSchema } } }]),
  ) as Record<S, { description: string; content: { "application/problem+json": { schema: typeof ProblemSchema } } }>;
}
