import { createRouter } from "../platform/router";
import { defineSystem, DAILY, EVERY_MINUTE } from "../platform/system";
import { analyticsRoutes } from "./analytics.routes";
import { examCacheKeys } from "./cache-keys";
import { cellRoutes } from "./cells.routes";
import { examConsumers } from "./consumers";
import { abandonIdleSessions, purgePolicyEvents } from "./jobs";
import { mistakesRoutes } from "./mistakes.routes";
import { planRoutes } from "./plans.routes";
import { policyRoutes } from "./policy.routes";
import { profileRoutes } from "./profile.routes";
import { sessionRoutes } from "./sessions.routes";
import { stepRoutes } from "./steps.routes";

/** Exam-prep labs (spec 000), under /api/v1/exam. */
export const exam = defineSystem({
  name: "exam",
  title: "Exam-prep labs (spec 000)",
  router: createRouter()
    .route("/", profileRoutes)
    .route("/", mistakesRoutes)
    .route("/", analyticsRoutes)
    .route("/", planRoutes)
    .route("/", sessionRoutes)
    .route("/", stepRoutes)
    .route("/", cellRoutes)
    .route("/", policyRoutes),
  jobs: { [EVERY_MINUTE]: [abandonIdleSessions], [DAILY]: [purgePolicyEvents] },
  consumers: examConsumers,
  cacheKeys: examCacheKeys,
  docs: ["docs/exam.md", "docs/exam-events.md"],
});
