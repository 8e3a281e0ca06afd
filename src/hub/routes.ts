import { createRouter } from "../platform/router";
import { hubAccess } from "./access";
import { eventRoutes } from "./events.routes";
import { interventionRoutes } from "./interventions.routes";
import { studentRoutes } from "./students.routes";
import { taskRoutes } from "./tasks.routes";

/** Every hub route, under /api/v1/hub, behind the hub's role gate (docs/hub.md, "Roles"). */
export const router = createRouter();
router.use("*", hubAccess());
router.route("/", studentRoutes).route("/", eventRoutes).route("/", interventionRoutes).route("/", taskRoutes);
