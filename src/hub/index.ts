import { createRouter } from "../platform/router";
import { hubAccess } from "./access";
import { eventRoutes } from "./events.routes";
import { interventionRoutes } from "./interventions.routes";
import { studentRoutes } from "./students.routes";
import { taskRoutes } from "./tasks.routes";

/** Student hub (spec 004), under /api/v1/hub (docs/hub.md). */
export const hubRouter = createRouter();
hubRouter.use("*", hubAccess());
hubRouter.route("/", studentRoutes).route("/", eventRoutes).route("/", interventionRoutes).route("/", taskRoutes);
