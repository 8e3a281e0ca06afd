import { defineSystem, DAILY, EVERY_MINUTE } from "../platform/system";
import { examCacheKeys } from "./cache-keys";
import { examConsumers } from "./consumers";
import { abandonIdleSessions, purgePolicyEvents } from "./jobs";

/** Exam-prep labs (spec 000), under /api/v1/exam. */
export const exam = defineSystem({
  name: "exam",
  title: "Exam-prep labs (spec 000)",
  routes: () => import("./routes").then((m) => m.router),
  jobs: { [EVERY_MINUTE]: [abandonIdleSessions], [DAILY]: [purgePolicyEvents] },
  consumers: examConsumers,
  cacheKeys: examCacheKeys,
  docs: ["docs/exam.md", "docs/exam-events.md"],
});
