import { createRouter } from "../platform/router";
import { classroomRoutes } from "./classrooms.routes";
import { featureRoutes } from "./features.routes";
import { interestGoalRoutes } from "./interest-goals.routes";
import { sessionRoutes } from "./sessions.routes";

/** Learning-analytics tables (spec 001), under /api/v1/seedtest; docs/seedtest.md describes them. */
export const seedtestRouter = createRouter()
  .route("/", classroomRoutes)
  .route("/", sessionRoutes)
  .route("/", interestGoalRoutes)
  .route("/", featureRoutes);
