import { createRouter } from "../platform/router";
import { analyticsRoutes } from "./analytics.routes";
import { cellRoutes } from "./cells.routes";
import { mistakesRoutes } from "./mistakes.routes";
import { planRoutes } from "./plans.routes";
import { policyRoutes } from "./policy.routes";
import { profileRoutes } from "./profile.routes";
import { sessionRoutes } from "./sessions.routes";
import { stepRoutes } from "./steps.routes";

/** Every exam route, under /api/v1/exam. */
export const router = createRouter()
  .route("/", profileRoutes)
  .route("/", mistakesRoutes)
  .route("/", analyticsRoutes)
  .route("/", planRoutes)
  .route("/", sessionRoutes)
  .route("/", stepRoutes)
  .route("/", cellRoutes)
  .route("/", policyRoutes);
