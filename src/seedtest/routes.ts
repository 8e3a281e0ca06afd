import { createRouter } from "../platform/router";
import { classroomRoutes } from "./classrooms.routes";
import { featureRoutes } from "./features.routes";
import { interestGoalRoutes } from "./interest-goals.routes";
import { sessionRoutes } from "./sessions.routes";

/** Every learning-analytics route, under /api/v1/seedtest. */
export const router = createRouter().route("/", classroomRoutes).route("/", sessionRoutes).route("/", interestGoalRoutes).route("/", featureRoutes);
