import { defineSystem } from "../platform/system";

/** Learning-analytics tables (spec 001), under /api/v1/seedtest; docs/seedtest.md describes them. */
export const seedtest = defineSystem({
  name: "seedtest",
  title: "Learning analytics (spec 001)",
  docs: ["docs/seedtest.md"],
  load: () => import("./parts").then((m) => m.parts),
});
