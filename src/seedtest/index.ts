import { createRouter } from "../platform/router";
import { DAILY, defineSystem } from "../platform/system";
import { classroomRoutes } from "./classrooms.routes";
import { featureRoutes } from "./features.routes";
import { interestGoalRoutes } from "./interest-goals.routes";
import { fillTopicFeatures } from "./jobs";
import { sessionRoutes } from "./sessions.routes";

/** Learning-analytics tables (spec 001), under /api/v1/seedtest; docs/seedtest.md describes them. */
export const seedtest = defineSystem({
  name: "seedtest",
  title: "Learning analytics (spec 001)",
  router: createRouter().route("/", classroomRoutes).route("/", sessionRoutes).route("/", interestGoalRoutes).route("/", featureRoutes),
  jobs: { [DAILY]: [fillTopicFeatures] },
  docs: ["docs/seedtest.md"],
});
