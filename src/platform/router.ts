import { OpenAPIHono, type Hook } from "@hono/zod-openapi";
import type { AppEnv } from "./context";
import { validationError } from "./errors";
import { inputProblem } from "./input";
import { ApiError } from "./problem";

// The hook's types vary per route; the checks below only read `success`, `target`, `data` and `error`.
type AnyHook = Hook<any, AppEnv, any, any>;

/**
 * What every validation ends with, after a route's own hook (if any) had its say: a failure is
 * a 422 listing each field, and a value that passed the schema is still refused when Postgres
 * could not take it (NUL, nesting; see input.ts), naming where.
 */
function platformHook(routeHook?: AnyHook): AnyHook {
  return async (result, c) => {
    const answered = await routeHook?.(result, c);
    if (answered) return answered;
    if (!result.success) throw validationError(result.error, result.target);
    const problem = inputProblem(result.data, result.target);
    if (problem) throw new ApiError(422, "validation_failed", `${problem.path}: ${problem.message}`, { errors: [problem] });
  };
}

/**
 * A system's router. Every route's validation goes through platformHook, including routes that
 * bring their own hook: theirs runs first and the platform answers whatever it leaves, so no
 * route can fall through to the validator library's own (non-problem) reply.
 */
export function createRouter() {
  const router = new OpenAPIHono<AppEnv>({ defaultHook: platformHook() });
  const openapi = router.openapi;
  router.openapi = ((route, handler, hook) => openapi(route, handler, platformHook(hook))) as typeof openapi;
  return router;
}
