import { createRouter } from "../platform/router";
import { DAILY, defineParts } from "../platform/system";
import { classroomRoutes } from "./classrooms.routes";
import { featureRoutes } from "./features.routes";
import { interestGoalRoutes } from "./interest-goals.routes";
import { fillTopicFeatures } from "./jobs";
import { sessionRoutes } from "./sessions.routes";

/** Every learning-analytics route, under /api/v1/seedtest. */
const router = createRouter().route("/", classroomRoutes).route("/", sessionRoutes).route("/", interestGoalRoutes).route("/", featureRoutes);

/** The seedtest system's parts (src/seedtest/index.ts loads them on first use). */
export const parts = defineParts({
  router,
  jobs: { [DAILY]: [fillTopicFeatures] },
});
