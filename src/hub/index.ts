import { defineSystem } from "../platform/system";

/** Student hub (spec 004), under /api/v1/hub (docs/hub.md). */
export const hub = defineSystem({
  name: "hub",
  title: "Student hub (spec 004)",
  docs: ["docs/hub.md"],
  load: () => import("./parts").then((m) => m.parts),
});
