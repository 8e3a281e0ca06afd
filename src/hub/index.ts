import { createRouter } from "../platform/router";
import { DAILY, defineSystem, EVERY_MINUTE } from "../platform/system";
import { hubAccess } from "./access";
import { eventRoutes } from "./events.routes";
import { interventionRoutes } from "./interventions.routes";
import { anonymizeOldStudents, archiveOldPartitions, createPartitionsAhead, purgeCompletedTasks, runDueTasks } from "./jobs";
import { studentRoutes } from "./students.routes";
import { taskRoutes } from "./tasks.routes";

const router = createRouter();
router.use("*", hubAccess());
router.route("/", studentRoutes).route("/", eventRoutes).route("/", interventionRoutes).route("/", taskRoutes);

/** Student hub (spec 004), under /api/v1/hub (docs/hub.md). */
export const hub = defineSystem({
  name: "hub",
  title: "Student hub (spec 004)",
  router,
  jobs: {
    [EVERY_MINUTE]: [runDueTasks],
    [DAILY]: [createPartitionsAhead, archiveOldPartitions, anonymizeOldStudents, purgeCompletedTasks],
  },
  docs: ["docs/hub.md"],
});
