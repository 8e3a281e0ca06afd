import { defineSystem } from "../platform/system";

/** Agent orchestration (spec 002), under /api/v1/agent: its routes arrive with its issue. */
export const agent = defineSystem({
  name: "agent",
  title: "Agent orchestration (spec 002)",
  routes: () => import("./routes").then((m) => m.router),
  cacheKeys: {
    /** §8.1: the session hash. */
    session: (sessionId: string) => `session:${sessionId}`,
    /** §8.2: a tool's cached ExecutionResult. */
    execCache: (tool: string, inputHash: string) => `exec_cache:${tool}:${inputHash}`,
  },
  docs: [],
});
