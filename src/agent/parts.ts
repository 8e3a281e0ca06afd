import { createRouter } from "../platform/router";
import { defineParts } from "../platform/system";

/** Every agent route, under /api/v1/agent: none until its issue arrives. */
const router = createRouter();

/** The agent system's parts (src/agent/index.ts loads them on first use). */
export const parts = defineParts({
  router,
  cacheKeys: {
    /** §8.1: the session hash. */
    session: (sessionId: string) => `session:${sessionId}`,
    /** §8.2: a tool's cached ExecutionResult. */
    execCache: (tool: string, inputHash: string) => `exec_cache:${tool}:${inputHash}`,
  },
});
