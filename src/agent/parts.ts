import { createRouter } from "../platform/router";
import { DAILY, defineParts, EVERY_MINUTE } from "../platform/system";
import { apiKeyCacheKey, authenticateApiKey } from "./api-keys";
import { pruneCheckpoints } from "./checkpoint-jobs";
import { checkpointRoutes } from "./checkpoints.routes";
import { execCacheKey } from "./exec-cache";
import { execCacheRoutes } from "./exec-cache.routes";
import { timeOutDueEvents, timeOutDueTodos } from "./exec-jobs";
import { execRoutes } from "./exec.routes";
import { hitlRoutes } from "./hitl.routes";
import { expireDueSessions } from "./jobs";
import { feedbackRoutes } from "./feedback.routes";
import { organizationRoutes } from "./organizations.routes";
import { agentLimits, dailyCountKey, dailyLimitKey } from "./quota";
import { planRoutes } from "./plans.routes";
import { sessionCacheKey } from "./session-cache";
import { sessionRoutes } from "./sessions.routes";
import { toolExecutionRoutes } from "./tool-executions.routes";
import { toolRoutes } from "./tools.routes";
import { usageUpkeep } from "./usage-jobs";
import { usageRoutes } from "./usage.routes";
import { userRoutes } from "./users.routes";

/** Every agent route, under /api/v1/agent; each request first passes the per-user minute and the daily quota. */
const router = createRouter();
router
  .use("*", agentLimits())
  .route("/", organizationRoutes)
  .route("/", userRoutes)
  .route("/", sessionRoutes)
  .route("/", checkpointRoutes)
  .route("/", toolRoutes)
  .route("/", toolExecutionRoutes)
  .route("/", execCacheRoutes)
  .route("/", usageRoutes)
  .route("/", feedbackRoutes)
  .route("/", planRoutes)
  .route("/", execRoutes)
  .route("/", hitlRoutes);

/** The agent system's parts (src/agent/index.ts loads them on first use). */
export const parts = defineParts({
  router,
  apiKey: authenticateApiKey,
  jobs: { [EVERY_MINUTE]: [expireDueSessions, usageUpkeep, timeOutDueTodos, timeOutDueEvents], [DAILY]: [pruneCheckpoints] },
  cacheKeys: {
    /** §8.1: the session hash. */
    session: sessionCacheKey,
    /** §8.2: a tool's cached ExecutionResult. */
    execCache: execCacheKey,
    /** An API key's user, organization and role, by the key's SHA-256. */
    apiKey: apiKeyCacheKey,
    /** An organization's agent requests of one UTC day, and its cached max_daily_requests. */
    dailyCount: dailyCountKey,
    dailyLimit: dailyLimitKey,
    /** §8.3: one user's requests of one minute (written by @upstash/ratelimit's fixed window). */
    userRateLimit: (userId: string, minute: string) => `rate_limit:${userId}:${minute}`,
  },
});
