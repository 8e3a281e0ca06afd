import { DAILY, defineSystem } from "../platform/system";
import { fillTopicFeatures } from "./jobs";

/** Learning-analytics tables (spec 001), under /api/v1/seedtest; docs/seedtest.md describes them. */
export const seedtest = defineSystem({
  name: "seedtest",
  title: "Learning analytics (spec 001)",
  routes: () => import("./routes").then((m) => m.router),
  jobs: { [DAILY]: [fillTopicFeatures] },
  docs: ["docs/seedtest.md"],
});
