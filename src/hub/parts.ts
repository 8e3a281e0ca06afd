import { createRouter } from "../platform/router";
import { DAILY, EVERY_MINUTE, defineParts } from "../platform/system";
import { hubAccess } from "./access";
import { eventRoutes } from "./events.routes";
import { interventionRoutes } from "./interventions.routes";
import { anonymizeOldStudents, archiveOldPartitions, createPartitionsAhead, purgeCompletedTasks, runDueTasks } from "./jobs";
import { studentRoutes } from "./students.routes";
import { taskRoutes } from "./tasks.routes";

/** Every hub route, under /api/v1/hub, behind the hub's role gate (docs/hub.md, "Roles"). */
const router = createRouter();
router.use("*", hubAccess());
router.route("/", studentRoutes).route("/", eventRoutes).route("/", interventionRoutes).route("/", taskRoutes);

/** The hub system's parts (src/hub/index.ts loads them on first use). */
export const parts = defineParts({
  router,
  jobs: {
    [EVERY_MINUTE]: [runDueTasks],
    [DAILY]: [createPartitionsAhead, archiveOldPartitions, anonymizeOldStudents, purgeCompletedTasks],
  },
});
