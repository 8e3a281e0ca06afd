import { ApiError } from "../platform/problem";
import { createRouter } from "../platform/router";
import { classroomRoutes } from "./classrooms.routes";
import { featureRoutes } from "./features.routes";
import { interestGoalRoutes } from "./interest-goals.routes";
import { sessionRoutes } from "./sessions.routes";

/** Learning-analytics tables (spec 001), under /api/v1/seedtest; docs/seedtest.md describes them. */
export const seedtestRouter = createRouter()
  // `service` is the cron jobs' identity (src/seedtest/jobs.ts), which RLS lets write features for
  // everyone: never accepted from a token, as in hub.
  .use("*", async (c, next) => {
    if (c.var.principal?.roles.includes("service")) {
      throw new ApiError(403, "service_role_reserved", "the service role belongs to the scheduled jobs, not to API callers");
    }
    await next();
  })
  .route("/", classroomRoutes)
  .route("/", sessionRoutes)
  .route("/", interestGoalRoutes)
  .route("/", featureRoutes);
