import { createRouter } from "../platform/router";
import { DAILY, defineParts, EVERY_MINUTE } from "../platform/system";
import { apiKeyCacheKey, authenticateApiKey } from "./api-keys";
import { pruneCheckpoints } from "./checkpoint-jobs";
import { checkpointRoutes } from "./checkpoints.routes";
import { timeOutDueEvents, timeOutDueTodos } from "./exec-jobs";
import { execRoutes } from "./exec.routes";
import { hitlRoutes } from "./hitl.routes";
import { expireDueSessions } from "./jobs";
import { organizationRoutes } from "./organizations.routes";
import { planRoutes } from "./plans.routes";
import { sessionCacheKey } from "./session-cache";
import { sessionRoutes } from "./sessions.routes";
import { userRoutes } from "./users.routes";

/** Every agent route, under /api/v1/agent. */
const router = createRouter()
  .route("/", organizationRoutes)
  .route("/", userRoutes)
  .route("/", sessionRoutes)
  .route("/", checkpointRoutes)
  .route("/", planRoutes)
  .route("/", execRoutes)
  .route("/", hitlRoutes);

/** The agent system's parts (src/agent/index.ts loads them on first use). */
export const parts = defineParts({
  router,
  apiKey: authenticateApiKey,
  jobs: { [EVERY_MINUTE]: [expireDueSessions, timeOutDueTodos, timeOutDueEvents], [DAILY]: [pruneCheckpoints] },
  cacheKeys: {
    /** §8.1: the session hash. */
    session: sessionCacheKey,
    /** §8.2: a tool's cached ExecutionResult. */
    execCache: (tool: string, inputHash: string) => `exec_cache:${tool}:${inputHash}`,
    /** An API key's user, organization and role, by the key's SHA-256. */
    apiKey: apiKeyCacheKey,
  },
});
