import { createRouter } from "../platform/router";
import { DAILY, EVERY_MINUTE, defineParts } from "../platform/system";
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

/** Every exam route, under /api/v1/exam. */
const router = createRouter()
  .route("/", profileRoutes)
  .route("/", mistakesRoutes)
  .route("/", analyticsRoutes)
  .route("/", planRoutes)
  .route("/", sessionRoutes)
  .route("/", stepRoutes)
  .route("/", cellRoutes)
  .route("/", policyRoutes);

/** The exam system's parts (src/exam/index.ts loads them on first use). */
export const parts = defineParts({
  router,
  jobs: { [EVERY_MINUTE]: [abandonIdleSessions], [DAILY]: [purgePolicyEvents] },
  consumers: examConsumers,
  cacheKeys: examCacheKeys,
});
