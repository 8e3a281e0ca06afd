import { createRouter } from "../platform/router";
import { DAILY, defineParts, EVERY_MINUTE } from "../platform/system";
import { auditRoutes } from "./audit.routes";
import { chatMessageRoutes } from "./chat-messages.routes";
import { chatSessionRoutes } from "./chat-sessions.routes";
import { checkConnectorHealth } from "./connector-health";
import { connectorQueryRoutes } from "./connector-query.routes";
import { connectorRoutes } from "./connectors.routes";
import { conflictConsumer } from "./conflict-jobs";
import { conflictRoutes } from "./conflicts.routes";
import { deploymentRoutes } from "./deployments.routes";
import { judgmentQuotaKey } from "./judgment-execute";
import { judgmentCacheKey } from "./judgment-cache";
import { judgmentRoutes } from "./judgments.routes";
import { mcpRoutes } from "./mcp.routes";
import { meRoutes } from "./me.routes";
import { evaluateAlarms } from "./monitor-alarms";
import { monitoringRoutes } from "./monitoring.routes";
import { promptRoutes } from "./prompts.routes";
import { applyRetention } from "./retention";
import { ruleScriptRoutes } from "./rule-scripts.routes";
import { rulesetRoutes } from "./rulesets.routes";
import { tenantRoutes } from "./tenants.routes";
import { userRoutes } from "./users.routes";

/** Every factory route, under /api/v1/factory. */
const router = createRouter();
router
  .route("/", meRoutes)
  .route("/", tenantRoutes)
  .route("/", userRoutes)
  .route("/", auditRoutes)
  .route("/", rulesetRoutes)
  .route("/", ruleScriptRoutes)
  .route("/", deploymentRoutes)
  .route("/", conflictRoutes)
  .route("/", judgmentRoutes)
  .route("/", promptRoutes)
  .route("/", connectorRoutes)
  .route("/", connectorQueryRoutes)
  .route("/", mcpRoutes)
  .route("/", monitoringRoutes)
  .route("/", chatSessionRoutes)
  .route("/", chatMessageRoutes);

/** The factory system's parts (src/factory/index.ts loads them on first use). */
export const parts = defineParts({
  router,
  jobs: {
    /** §9.1: data connectors' status, last_health_check_at and last_health_status (docs/factory-connectors.md). */
    [EVERY_MINUTE]: [checkConnectorHealth, evaluateAlarms],
    /** §2.1 data_retention: raw logs, judgment logs and LLM calls past each tenant's days (docs/factory-monitoring.md). */
    [DAILY]: [applyRetention],
  },
  consumers: {
    /** §5.4: output conflicts of a new version or a moved deployment (docs/factory-rules.md, "Conflicts"). */
    RULE_VERSION_CREATED: [conflictConsumer],
    RULE_DEPLOYMENT_CHANGED: [conflictConsumer],
  },
  cacheKeys: {
    /** §4.2: a judgment's result by scope (workflow, or ruleset and method) and input hash. */
    judgment: judgmentCacheKey,
    /** A tenant's judgments of one UTC day (max_judgments_per_day). */
    judgmentQuota: judgmentQuotaKey,
  },
});
