import { DAILY, defineSystem, EVERY_MINUTE } from "../platform/system";
import { anonymizeOldStudents, archiveOldPartitions, createPartitionsAhead, purgeCompletedTasks, runDueTasks } from "./jobs";

/** Student hub (spec 004), under /api/v1/hub (docs/hub.md). */
export const hub = defineSystem({
  name: "hub",
  title: "Student hub (spec 004)",
  routes: () => import("./routes").then((m) => m.router),
  jobs: {
    [EVERY_MINUTE]: [runDueTasks],
    [DAILY]: [createPartitionsAhead, archiveOldPartitions, anonymizeOldStudents, purgeCompletedTasks],
  },
  docs: ["docs/hub.md"],
});
