import { createRouter } from "../platform/router";
import { DAILY, defineParts } from "../platform/system";
import { pruneCheckpoints } from "./checkpoint-jobs";
import { checkpointRoutes } from "./checkpoints.routes";

/** Every agent route, under /api/v1/agent. */
const router = createRouter();
router.route("/", checkpointRoutes);

/** The agent system's parts (src/agent/index.ts loads them on first use). */
export const parts = defineParts({
  router,
  jobs: { [DAILY]: [pruneCheckpoints] },
  cacheKeys: {
    /** §8.1: the session hash. */
    session: (sessionId: string) => `session:${sessionId}`,
    /** §8.2: a tool's cached ExecutionResult. */
    execCache: (tool: string, inputHash: string) => `exec_cache:${tool}:${inputHash}`,
  },
});
