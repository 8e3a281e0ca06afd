import { defineSystem } from "../platform/system";

/** Agent orchestration (spec 002), under /api/v1/agent (docs/agent.md). */
export const agent = defineSystem({
  name: "agent",
  title: "Agent orchestration (spec 002)",
  docs: ["docs/agent.md"],
  load: () => import("./parts").then((m) => m.parts),
});
