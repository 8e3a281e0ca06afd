import { createRouter } from "../platform/router";
import { analyticsRoutes } from "./analytics.routes";
import { mistakesRoutes } from "./mistakes.routes";
import { cellRoutes } from "./cells.routes";
import { planRoutes } from "./plans.routes";
import { policyRoutes } from "./policy.routes";
import { profileRoutes } from "./profile.routes";
import { sessionRoutes } from "./sessions.routes";
import { stepRoutes } from "./steps.routes";

/** Exam-prep labs (spec 000), under /api/v1/exam. */
export const examRouter = createRouter().route("/", profileRoutes).route("/", mistakesRoutes).route("/", analyticsRoutes)
  .route("/", planRoutes)
  .route("/", sessionRoutes)
  .route("/", stepRoutes)
  .route("/", cellRoutes)
  .route("/", policyRoutes);
