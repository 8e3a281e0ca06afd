import { createRouter } from "../platform/router";
import { DAILY, defineParts, EVERY_MINUTE } from "../platform/system";
import { auditRoutes } from "./audit.routes";
import { autoRuleRoutes } from "./auto-rules.routes";
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
import { LEARNING_JOB_CREATED, ruleLearningConsumer } from "./learning-jobs";
import { learningSampleRoutes } from "./learning-samples.routes";
import { meRoutes } from "./me.routes";
import { evaluateAlarms } from "./monitor-alarms";
import { monitoringRoutes } from "./monitoring.routes";
import { promptRoutes } from "./prompts.routes";
import { applyRetention } from "./retention";
import { ruleScriptRoutes } from "./rule-scripts.routes";
import { rulesetRoutes } from "./rulesets.routes";
import { tenantRoutes } from "./tenants.routes";
import { CALLBACK_PATH, trainingJobRoutes } from "./training-jobs.routes";
import { userRoutes } from "./users.routes";
import { EVENT_TRIGGER_CONSUMERS } from "./workflow-event-triggers";
import { HOOK_PATH, workflowHookRoutes } from "./workflow-hooks.routes";
import { workflowInstanceRoutes } from "./workflow-instances.routes";
import { fireWorkflowSchedules } from "./workflow-schedules";
import { purgeWorkflowWebhookDeliveries } from "./workflow-webhook-retention";
import { sweepWorkflowTimeouts } from "./workflow-timeouts";
import { workflowRoutes } from "./workflows.routes";

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
  .route("/", workflowRoutes)
  .route("/", workflowInstanceRoutes)
  .route("/", learningSampleRoutes)
  .route("/", autoRuleRoutes)
  .route("/", trainingJobRoutes)
  .route("/", chatSessionRoutes)
  .route("/", chatMessageRoutes)
  .route("/", workflowHookRoutes);

/** The factory system's parts (src/factory/index.ts loads them on first use). */
export const parts = defineParts({
  router,
  jobs: {
    /**
     * §9.1: data connectors' status, last_health_check_at and last_health_status (docs/factory-connectors.md);
     * §12.4: alarms (docs/factory-monitoring.md); §3.3: workflow instances past their timeout_seconds become TIMEOUT (docs/factory-workflows.md, "Timeouts");
     * §3.1: schedule-triggered workflows fire once per cron slot (docs/factory-workflows.md, "Triggers").
     */
    [EVERY_MINUTE]: [checkConnectorHealth, evaluateAlarms, sweepWorkflowTimeouts, fireWorkflowSchedules],
    /** §2.1 data_retention: raw logs, judgment logs and LLM calls past each tenant's days (docs/factory-monitoring.md); workflow webhook deliveries past an hour. */
    [DAILY]: [applyRetention, purgeWorkflowWebhookDeliveries],
  },
  consumers: {
    /** §5.4: output conflicts of a new version or a moved deployment (docs/factory-rules.md, "Conflicts"). */
    RULE_VERSION_CREATED: [conflictConsumer],
    RULE_DEPLOYMENT_CHANGED: [conflictConsumer],
    /** §6.3–6.4: a rule_learning job learns and scores rule candidates (docs/factory-learning.md). */
    [LEARNING_JOB_CREATED]: [ruleLearningConsumer],
    /** §3.1: judgment results and instance ends start the event-triggered workflows whose filter matches (docs/factory-workflows.md, "Triggers"). */
    ...EVENT_TRIGGER_CONSUMERS,
  },
  /**
   * Standard Webhooks signatures, not bearer tokens: the external training system's callback
   * (docs/factory-learning.md) and workflows' webhook triggers, each under its workflow's secret
   * (docs/factory-workflows.md, "Triggers").
   */
  signedRoutes: [CALLBACK_PATH, HOOK_PATH],
  /** Learning samples are imported as JSON lines or CSV. */
  bodyTypes: { "/learning/samples/import": ["application/x-ndjson", "application/jsonl", "text/csv"] },
  cacheKeys: {
    /** §4.2: a judgment's result by scope (workflow, or ruleset and method) and input hash. */
    judgment: judgmentCacheKey,
    /** A tenant's judgments of one UTC day (max_judgments_per_day). */
    judgmentQuota: judgmentQuotaKey,
  },
});
