import { defineSystem } from "../platform/system";

/** Agent orchestration (spec 002), under /api/v1/agent: its routes arrive with its issue. */
export const agent = defineSystem({
  name: "agent",
  title: "Agent orchestration (spec 002)",
  docs: ["docs/agent.md"],
  load: () => import("./parts").then((m) => m.parts),
});
