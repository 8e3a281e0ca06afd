import {
  boolean,
  customType,
  doublePrecision,
  inet,
  integer,
  jsonb,
  numeric,
  pgSchema,
  text,
  timestamp,
  unique,
  uuid,
  type AnyPgColumn,
} from "drizzle-orm/pg-core";

/**
 * Drizzle view of the `factory` schema (spec 003 §2–§10); migrations/0015_factory.up.sql is the
 * source of truth. The only addition is audit_logs.actor_subject. Tables appear in the document's
 * order; the CHECK value lists are exported for request schemas and tests.
 */
export const factory = pgSchema("factory");

export const SUBSCRIPTION_PLANS = ["trial", "standard", "enterprise", "custom"] as const;
export const TENANT_STATUSES = ["active", "suspended", "deleted"] as const;
export const USER_ROLES = ["admin", "approver", "operator", "viewer"] as const;
export const USER_STATUSES = ["active", "inactive", "locked"] as const;
export const NODE_TYPES = [
  "DATA", "BI", "JUDGMENT", "MCP", "ACTION", "APPROVAL", "WAIT",
  "SWITCH", "PARALLEL", "COMPENSATION", "DEPLOY", "ROLLBACK", "SIMULATE",
] as const;
export const INSTANCE_STATUSES = ["PENDING", "RUNNING", "WAITING", "PAUSED", "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"] as const;
export const TRIGGER_TYPES = ["manual", "schedule", "event", "webhook", "api"] as const;
export const STEP_LOG_STATUSES = ["PENDING", "RUNNING", "COMPLETED", "FAILED", "SKIPPED", "RETRYING"] as const;
export const JUDGMENT_SOURCES = ["workflow", "api", "manual", "schedule"] as const;
export const JUDGMENT_RESULTS = ["normal", "warning", "critical", "unknown"] as const;
export const JUDGMENT_METHODS = ["rule_only", "llm_only", "hybrid", "cache"] as const;
export const RULE_CATEGORIES = ["quality", "production", "equipment", "inventory", "safety"] as const;
export const RULE_LANGUAGES = ["rhai"] as const;
export const COMPILE_STATUSES = ["pending", "compiled", "failed"] as const;
export const DEPLOYMENT_STATUSES = ["draft", "canary", "active", "rolled_back", "deprecated"] as const;
export const CONFLICT_TYPES = ["output_conflict", "condition_overlap", "circular_dependency"] as const;
export const CONFLICT_SEVERITIES = ["low", "medium", "high", "critical"] as const;
export const RESOLUTION_STATUSES = ["unresolved", "investigating", "resolved", "accepted"] as const;
export const FEEDBACK_TYPES = ["correct", "incorrect", "partial", "helpful", "not_helpful"] as const;
export const CORRECTED_RESULTS = ["normal", "warning", "critical"] as const;
export const SAMPLE_SOURCES = ["feedback", "auto", "manual", "import"] as const;
export const GENERATION_METHODS = ["llm", "pattern_mining", "ensemble"] as const;
export const APPROVAL_STATUSES = ["pending", "approved", "rejected", "testing"] as const;
export const TRAINING_JOB_TYPES = ["rule_learning", "llm_finetuning", "embedding_update"] as const;
export const TRAINING_JOB_STATUSES = ["pending", "running", "completed", "failed", "cancelled"] as const;
export const TEMPLATE_TYPES = ["judgment", "chat", "reasoning", "extraction"] as const;
export const LLM_CALL_TYPES = ["judgment", "chat", "reasoning", "embedding"] as const;
export const CHAT_SESSION_STATUSES = ["active", "archived", "deleted"] as const;
export const CHAT_ROLES = ["user", "assistant", "system"] as const;
export const CONNECTOR_TYPES = ["postgres", "mysql", "mssql", "oracle", "rest_api", "graphql", "kafka"] as const;
export const CONNECTION_STATUSES = ["active", "inactive", "error"] as const;
export const MCP_PROTOCOLS = ["stdio", "sse", "websocket"] as const;
export const CIRCUIT_STATES = ["closed", "open", "half_open"] as const;
export const ACTOR_TYPES = ["user", "system", "api", "webhook"] as const;

type Json = Record<string, unknown>;
/** RFC 6902 operations, as factory.json_patch() writes them (add, remove, replace). */
export type JsonPatch = Array<{ op: "add" | "remove" | "replace"; path: string; value?: unknown }>;
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });
const created = () => ts("created_at").notNull().defaultNow();
const updated = () => ts("updated_at").notNull().defaultNow();
const tenantId = () => uuid("tenant_id").notNull().references(() => tenants.id);
const bytea = customType<{ data: Uint8Array; driverData: string }>({ dataType: () => "bytea" });

// §2 multi-tenancy

export const tenants = factory.table("tenants", {
  id: uuid("id").primaryKey().defaultRandom(),
  name: text("name").notNull().unique(),
  displayName: text("display_name").notNull(),
  settings: jsonb("settings").$type<Json>().notNull().default({}),
  subscriptionPlan: text("subscription_plan", { enum: SUBSCRIPTION_PLANS }).notNull().default("standard"),
  maxUsers: integer("max_users").notNull().default(10),
  maxWorkflows: integer("max_workflows").notNull().default(50),
  maxJudgmentsPerDay: integer("max_judgments_per_day").notNull().default(10000),
  status: text("status", { enum: TENANT_STATUSES }).notNull().default("active"),
  createdAt: created(),
  updatedAt: updated(),
  deletedAt: ts("deleted_at"),
});

export const users = factory.table(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    username: text("username").notNull(),
    passwordHash: text("password_hash").notNull(),
    role: text("role", { enum: USER_ROLES }).notNull(),
    permissions: text("permissions").array().notNull().default([]),
    metadata: jsonb("metadata").$type<Json>().notNull().default({}),
    status: text("status", { enum: USER_STATUSES }).notNull().default("active"),
    lastLoginAt: ts("last_login_at"),
    createdAt: created(),
    updatedAt: updated(),
  },
  (t) => [unique().on(t.tenantId, t.email), unique().on(t.tenantId, t.username)],
);

// §3 workflows

export const workflows = factory.table(
  "workflows",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description"),
    version: integer("version").notNull().default(1),
    dslJson: jsonb("dsl_json").$type<Json>().notNull(),
    dslDigest: text("dsl_digest").notNull(),
    isActive: boolean("is_active").notNull().default(false),
    triggerConfig: jsonb("trigger_config").$type<Json>(),
    timeoutSeconds: integer("timeout_seconds").notNull().default(300),
    maxRetry: integer("max_retry").notNull().default(3),
    tags: text("tags").array().default([]),
    metadata: jsonb("metadata").$type<Json>().notNull().default({}),
    createdBy: uuid("created_by").references(() => users.id),
    createdAt: created(),
    updatedAt: updated(),
    activatedAt: ts("activated_at"),
  },
  (t) => [unique().on(t.tenantId, t.name, t.version)],
);

export const workflowSteps = factory.table(
  "workflow_steps",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workflowId: uuid("workflow_id").notNull().references(() => workflows.id, { onDelete: "cascade" }),
    stepOrder: integer("step_order").notNull(),
    nodeId: text("node_id").notNull(),
    nodeType: text("node_type", { enum: NODE_TYPES }).notNull(),
    config: jsonb("config").$type<Json>().notNull(),
    timeoutSeconds: integer("timeout_seconds").notNull().default(60),
    retryPolicy: jsonb("retry_policy").$type<Json>(),
    createdAt: created(),
  },
  (t) => [unique().on(t.workflowId, t.nodeId), unique().on(t.workflowId, t.stepOrder)],
);

export const workflowInstances = factory.table("workflow_instances", {
  id: uuid("id").primaryKey().defaultRandom(),
  workflowId: uuid("workflow_id").notNull().references(() => workflows.id),
  tenantId: tenantId(),
  status: text("status", { enum: INSTANCE_STATUSES }).notNull(),
  triggerType: text("trigger_type", { enum: TRIGGER_TYPES }).notNull(),
  triggeredBy: uuid("triggered_by").references(() => users.id),
  inputContext: jsonb("input_context").$type<Json>().notNull().default({}),
  runtimeContext: jsonb("runtime_context").$type<Json>().notNull().default({}),
  checkpointData: jsonb("checkpoint_data").$type<Json>(),
  currentStepId: uuid("current_step_id").references(() => workflowSteps.id),
  lastError: text("last_error"),
  errorCode: text("error_code"),
  retryCount: integer("retry_count").notNull().default(0),
  startedAt: ts("started_at").notNull().defaultNow(),
  endedAt: ts("ended_at"),
  durationMs: integer("duration_ms"),
  traceId: text("trace_id").notNull(),
  parentInstanceId: uuid("parent_instance_id").references((): AnyPgColumn => workflowInstances.id),
  metadata: jsonb("metadata").$type<Json>().notNull().default({}),
});

export const workflowExecutionLogs = factory.table("workflow_execution_logs", {
  id: uuid("id").primaryKey().defaultRandom(),
  instanceId: uuid("instance_id").notNull().references(() => workflowInstances.id, { onDelete: "cascade" }),
  stepId: uuid("step_id").notNull().references(() => workflowSteps.id),
  nodeId: text("node_id").notNull(),
  status: text("status", { enum: STEP_LOG_STATUSES }).notNull(),
  inputData: jsonb("input_data").$type<Json>(),
  outputData: jsonb("output_data").$type<Json>(),
  errorMessage: text("error_message"),
  errorCode: text("error_code"),
  retryAttempt: integer("retry_attempt").notNull().default(0),
  startedAt: ts("started_at").notNull().defaultNow(),
  endedAt: ts("ended_at"),
  durationMs: integer("duration_ms"),
  metadata: jsonb("metadata").$type<Json>().notNull().default({}),
});

// §4 judgments

export const judgmentExecutions = factory.table("judgment_executions", {
  id: uuid("id").primaryKey().defaultRandom(),
  tenantId: tenantId(),
  workflowInstanceId: uuid("workflow_instance_id").references(() => workflowInstances.id),
  workflowId: uuid("workflow_id").references(() => workflows.id),
  source: text("source", { enum: JUDGMENT_SOURCES }).notNull(),
  inputData: jsonb("input_data").$type<Json>().notNull(),
  result: text("result", { enum: JUDGMENT_RESULTS }).notNull(),
  confidence: doublePrecision("confidence"),
  methodUsed: text("method_used", { enum: JUDGMENT_METHODS }).notNull(),
  explanation: text("explanation"),
  recommendedActions: jsonb("recommended_actions").$type<unknown>(),
  ruleTrace: jsonb("rule_trace").$type<unknown>(),
  llmMetadata: jsonb("llm_metadata").$type<unknown>(),
  evidence: jsonb("evidence").$type<unknown>(),
  featureImportance: jsonb("feature_importance").$type<unknown>(),
  cacheHit: boolean("cache_hit").notNull().default(false),
  cacheKey: text("cache_key"),
  latencyMs: integer("latency_ms"),
  createdAt: created(),
  createdBy: uuid("created_by").references(() => users.id),
  traceId: text("trace_id").notNull(),
  metadata: jsonb("metadata").$type<Json>().notNull().default({}),
});

export const judgmentCache = factory.table(
  "judgment_cache",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: tenantId(),
    cacheKey: text("cache_key").notNull(),
    judgmentExecutionId: uuid("judgment_execution_id").notNull().references(() => judgmentExecutions.id),
    inputHash: text("input_hash").notNull(),
    result: text("result").notNull(),
    confidence: doublePrecision("confidence"),
    ttlSeconds: integer("ttl_seconds").notNull().default(3600),
    hitCount: integer("hit_count").notNull().default(0),
    createdAt: created(),
    expiresAt: ts("expires_at").notNull(),
    lastHitAt: ts("last_hit_at"),
  },
  (t) => [unique().on(t.tenantId, t.cacheKey)],
);

// §5 rules

export const rulesets = factory.table(
  "rulesets",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: tenantId(),
    name: text("name").notNull(),
    description: text("description"),
    targetKpi: text("target_kpi").notNull(),
    category: text("category", { enum: RULE_CATEGORIES }),
    isActive: boolean("is_active").notNull().default(false),
    priority: integer("priority").notNull().default(100),
    metadata: jsonb("metadata").$type<Json>().notNull().default({}),
    createdBy: uuid("created_by").references(() => users.id),
    createdAt: created(),
    updatedAt: updated(),
  },
  (t) => [unique().on(t.tenantId, t.name)],
);

export const ruleScripts = factory.table(
  "rule_scripts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    rulesetId: uuid("ruleset_id").notNull().references(() => rulesets.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    language: text("language", { enum: RULE_LANGUAGES }).notNull().default("rhai"),
    script: text("script").notNull(),
    scriptHash: text("script_hash").notNull(),
    compileStatus: text("compile_status", { enum: COMPILE_STATUSES }).notNull().default("pending"),
    compileError: text("compile_error"),
    testCoverage: doublePrecision("test_coverage"),
    createdBy: uuid("created_by").references(() => users.id),
    createdAt: created(),
  },
  (t) => [unique().on(t.rulesetId, t.version)],
);

export const ruleDeployments = factory.table("rule_deployments", {
  id: uuid("id").primaryKey().defaultRandom(),
  tenantId: tenantId(),
  rulesetId: uuid("ruleset_id").notNull().references(() => rulesets.id),
  version: integer("version").notNull(),
  status: text("status", { enum: DEPLOYMENT_STATUSES }).notNull().default("draft"),
  canaryPct: doublePrecision("canary_pct"),
  canaryTargetFilter: jsonb("canary_target_filter").$type<Json>(),
  rollbackTo: integer("rollback_to"),
  changelog: text("changelog").notNull(),
  approverId: uuid("approver_id").references(() => users.id),
  approvedAt: ts("approved_at"),
  deployedAt: ts("deployed_at"),
  rolledBackAt: ts("rolled_back_at"),
  createdAt: created(),
  metadata: jsonb("metadata").$type<Json>().notNull().default({}),
  /** Addition (0016): who asked for the deployment; the approver must be someone else (four eyes). */
  requestedBy: uuid("requested_by").references(() => users.id),
});

export const ruleConflicts = factory.table("rule_conflicts", {
  id: uuid("id").primaryKey().defaultRandom(),
  tenantId: tenantId(),
  rulesetId: uuid("ruleset_id").notNull().references(() => rulesets.id),
  ruleVersion1: integer("rule_version_1").notNull(),
  ruleVersion2: integer("rule_version_2").notNull(),
  conflictType: text("conflict_type", { enum: CONFLICT_TYPES }).notNull(),
  description: text("description").notNull(),
  severity: text("severity", { enum: CONFLICT_SEVERITIES }).notNull(),
  resolutionStatus: text("resolution_status", { enum: RESOLUTION_STATUSES }).notNull().default("unresolved"),
  resolutionNote: text("resolution_note"),
  detectedAt: ts("detected_at").notNull().defaultNow(),
  resolvedAt: ts("resolved_at"),
  resolvedBy: uuid("resolved_by").references(() => users.id),
  /** Addition (0016): the other ruleset of an output_conflict between two rulesets on one target_kpi. */
  otherRulesetId: uuid("other_ruleset_id").references((): AnyPgColumn => rulesets.id),
});

// §6 learning

export const feedbacks = factory.table("feedbacks", {
  id: uuid("id").primaryKey().defaultRandom(),
  tenantId: tenantId(),
  judgmentExecutionId: uuid("judgment_execution_id").notNull().references(() => judgmentExecutions.id),
  userId: uuid("user_id").notNull().references(() => users.id),
  feedbackType: text("feedback_type", { enum: FEEDBACK_TYPES }).notNull(),
  rating: integer("rating"),
  comment: text("comment"),
  correctedResult: text("corrected_result", { enum: CORRECTED_RESULTS }),
  createdAt: created(),
});

export const learningSamples = factory.table("learning_samples", {
  id: uuid("id").primaryKey().defaultRandom(),
  tenantId: tenantId(),
  judgmentExecutionId: uuid("judgment_execution_id").references(() => judgmentExecutions.id),
  inputFeatures: jsonb("input_features").$type<Json>().notNull(),
  label: jsonb("label").$type<unknown>().notNull(),
  source: text("source", { enum: SAMPLE_SOURCES }).notNull(),
  qualityScore: doublePrecision("quality_score"),
  isValidated: boolean("is_validated").notNull().default(false),
  validatedBy: uuid("validated_by").references(() => users.id),
  validatedAt: ts("validated_at"),
  createdAt: created(),
  metadata: jsonb("metadata").$type<Json>().notNull().default({}),
});

export const autoRuleCandidates = factory.table("auto_rule_candidates", {
  id: uuid("id").primaryKey().defaultRandom(),
  tenantId: tenantId(),
  rulesetId: uuid("ruleset_id").references(() => rulesets.id),
  generatedRule: text("generated_rule").notNull(),
  ruleLanguage: text("rule_language").notNull().default("rhai"),
  generationMethod: text("generation_method", { enum: GENERATION_METHODS }).notNull(),
  coverage: doublePrecision("coverage"),
  precision: doublePrecision("precision"),
  recall: doublePrecision("recall"),
  f1Score: doublePrecision("f1_score"),
  conflictWith: text("conflict_with").array(),
  isApproved: boolean("is_approved").notNull().default(false),
  approvalStatus: text("approval_status", { enum: APPROVAL_STATUSES }).notNull().default("pending"),
  approverId: uuid("approver_id").references(() => users.id),
  approvedAt: ts("approved_at"),
  rejectionReason: text("rejection_reason"),
  testResults: jsonb("test_results").$type<unknown>(),
  createdAt: created(),
  metadata: jsonb("metadata").$type<Json>().notNull().default({}),
});

export const modelTrainingJobs = factory.table("model_training_jobs", {
  id: uuid("id").primaryKey().defaultRandom(),
  tenantId: tenantId(),
  jobType: text("job_type", { enum: TRAINING_JOB_TYPES }).notNull(),
  status: text("status", { enum: TRAINING_JOB_STATUSES }).notNull().default("pending"),
  datasetSize: integer("dataset_size"),
  trainingConfig: jsonb("training_config").$type<Json>().notNull(),
  metrics: jsonb("metrics").$type<Json>(),
  modelArtifactUrl: text("model_artifact_url"),
  errorMessage: text("error_message"),
  startedAt: ts("started_at"),
  endedAt: ts("ended_at"),
  durationSeconds: integer("duration_seconds"),
  triggeredBy: uuid("triggered_by").references(() => users.id),
  createdAt: created(),
});

// §7 prompts

export const promptTemplates = factory.table(
  "prompt_templates",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: tenantId(),
    name: text("name").notNull(),
    purpose: text("purpose").notNull(),
    version: integer("version").notNull(),
    templateType: text("template_type", { enum: TEMPLATE_TYPES }).notNull(),
    modelConfig: jsonb("model_config").$type<Json>().notNull(),
    variables: jsonb("variables").$type<unknown>().notNull(),
    isActive: boolean("is_active").notNull().default(false),
    aBTestGroup: text("a_b_test_group"),
    createdBy: uuid("created_by").references(() => users.id),
    createdAt: created(),
    updatedAt: updated(),
  },
  (t) => [unique().on(t.tenantId, t.name, t.version)],
);

export const promptTemplateBodies = factory.table(
  "prompt_template_bodies",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    templateId: uuid("template_id").notNull().references(() => promptTemplates.id, { onDelete: "cascade" }),
    locale: text("locale").notNull().default("ko-KR"),
    systemPrompt: text("system_prompt").notNull(),
    userPromptTemplate: text("user_prompt_template").notNull(),
    fewShotExamples: jsonb("few_shot_examples").$type<unknown>(),
    createdAt: created(),
  },
  (t) => [unique().on(t.templateId, t.locale)],
);

export const llmCalls = factory.table("llm_calls", {
  id: uuid("id").primaryKey().defaultRandom(),
  tenantId: tenantId(),
  judgmentExecutionId: uuid("judgment_execution_id").references(() => judgmentExecutions.id),
  promptTemplateId: uuid("prompt_template_id").references(() => promptTemplates.id),
  callType: text("call_type", { enum: LLM_CALL_TYPES }).notNull(),
  model: text("model").notNull(),
  promptSummary: text("prompt_summary"),
  promptTokens: integer("prompt_tokens").notNull(),
  completionTokens: integer("completion_tokens").notNull(),
  totalTokens: integer("total_tokens").notNull(),
  /** numeric(10,6): read as text so no digit is lost. */
  costEstimateUsd: numeric("cost_estimate_usd", { precision: 10, scale: 6 }),
  latencyMs: integer("latency_ms"),
  success: boolean("success").notNull().default(true),
  validationError: boolean("validation_error").notNull().default(false),
  errorMessage: text("error_message"),
  responseSummary: text("response_summary"),
  createdAt: created(),
  traceId: text("trace_id"),
  metadata: jsonb("metadata").$type<Json>().notNull().default({}),
});

// §8 chat and intents

export const chatSessions = factory.table("chat_sessions", {
  id: uuid("id").primaryKey().defaultRandom(),
  tenantId: tenantId(),
  userId: uuid("user_id").notNull().references(() => users.id),
  title: text("title").notNull().default("New Chat"),
  status: text("status", { enum: CHAT_SESSION_STATUSES }).notNull().default("active"),
  context: jsonb("context").$type<Json>().notNull().default({}),
  messageCount: integer("message_count").notNull().default(0),
  createdAt: created(),
  updatedAt: updated(),
  lastMessageAt: ts("last_message_at"),
});

export const chatMessages = factory.table("chat_messages", {
  id: uuid("id").primaryKey().defaultRandom(),
  sessionId: uuid("session_id").notNull().references(() => chatSessions.id, { onDelete: "cascade" }),
  role: text("role", { enum: CHAT_ROLES }).notNull(),
  content: text("content").notNull(),
  intentLogId: uuid("intent_log_id").references(() => intentLogs.id),
  metadata: jsonb("metadata").$type<Json>().notNull().default({}),
  createdAt: created(),
});

export const intentLogs = factory.table("intent_logs", {
  id: uuid("id").primaryKey().defaultRandom(),
  tenantId: tenantId(),
  userId: uuid("user_id").references(() => users.id),
  userQuery: text("user_query").notNull(),
  predictedIntent: text("predicted_intent").notNull(),
  confidence: doublePrecision("confidence"),
  extractedSlots: jsonb("extracted_slots").$type<Json>(),
  feedbackScore: integer("feedback_score"),
  feedbackComment: text("feedback_comment"),
  createdAt: created(),
});

// §9 integrations

export const dataConnectors = factory.table(
  "data_connectors",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: tenantId(),
    name: text("name").notNull(),
    type: text("type", { enum: CONNECTOR_TYPES }).notNull(),
    engine: text("engine"),
    config: jsonb("config").$type<Json>().notNull(),
    credentialsEncrypted: bytea("credentials_encrypted"),
    status: text("status", { enum: CONNECTION_STATUSES }).notNull().default("inactive"),
    lastHealthCheckAt: ts("last_health_check_at"),
    lastHealthStatus: text("last_health_status"),
    createdBy: uuid("created_by").references(() => users.id),
    createdAt: created(),
    updatedAt: updated(),
  },
  (t) => [unique().on(t.tenantId, t.name)],
);

export const mcpServers = factory.table(
  "mcp_servers",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: tenantId(),
    name: text("name").notNull(),
    endpoint: text("endpoint").notNull(),
    protocol: text("protocol", { enum: MCP_PROTOCOLS }).notNull().default("stdio"),
    config: jsonb("config").$type<Json>().notNull(),
    authConfig: jsonb("auth_config").$type<Json>(),
    status: text("status", { enum: CONNECTION_STATUSES }).notNull().default("inactive"),
    lastHealthCheckAt: ts("last_health_check_at"),
    circuitBreakerState: text("circuit_breaker_state", { enum: CIRCUIT_STATES }).notNull().default("closed"),
    failCount: integer("fail_count").notNull().default(0),
    createdAt: created(),
    updatedAt: updated(),
    /** Addition (0019): when circuit_breaker_state last changed, for the open breaker's cool-down. */
    circuitChangedAt: ts("circuit_changed_at"),
  },
  (t) => [unique().on(t.tenantId, t.name)],
);

export const mcpTools = factory.table(
  "mcp_tools",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    mcpServerId: uuid("mcp_server_id").notNull().references(() => mcpServers.id, { onDelete: "cascade" }),
    toolName: text("tool_name").notNull(),
    description: text("description"),
    inputSchema: jsonb("input_schema").$type<Json>().notNull(),
    outputSchema: jsonb("output_schema").$type<Json>(),
    isEnabled: boolean("is_enabled").notNull().default(true),
    usageCount: integer("usage_count").notNull().default(0),
    avgLatencyMs: integer("avg_latency_ms"),
    lastUsedAt: ts("last_used_at"),
    createdAt: created(),
  },
  (t) => [unique().on(t.mcpServerId, t.toolName)],
);

export const mcpCallLogs = factory.table("mcp_call_logs", {
  id: uuid("id").primaryKey().defaultRandom(),
  tenantId: tenantId(),
  mcpToolId: uuid("mcp_tool_id").notNull().references(() => mcpTools.id),
  workflowInstanceId: uuid("workflow_instance_id").references(() => workflowInstances.id),
  inputData: jsonb("input_data").$type<Json>().notNull(),
  outputData: jsonb("output_data").$type<Json>(),
  success: boolean("success").notNull().default(true),
  errorMessage: text("error_message"),
  latencyMs: integer("latency_ms"),
  retryCount: integer("retry_count").notNull().default(0),
  createdAt: created(),
  traceId: text("trace_id"),
});

// §10 audit

export const auditLogs = factory.table("audit_logs", {
  id: uuid("id").primaryKey().defaultRandom(),
  tenantId: tenantId(),
  actorId: uuid("actor_id").references(() => users.id),
  actorType: text("actor_type", { enum: ACTOR_TYPES }).notNull(),
  action: text("action").notNull(),
  resourceType: text("resource_type").notNull(),
  resourceId: text("resource_id"),
  beforeState: jsonb("before_state").$type<Json>(),
  afterState: jsonb("after_state").$type<Json>(),
  /** RFC 6902 JSON Patch from before_state to after_state (factory.json_patch, migration 0015). */
  diff: jsonb("diff").$type<JsonPatch>(),
  ipAddress: inet("ip_address"),
  userAgent: text("user_agent"),
  traceId: text("trace_id"),
  createdAt: created(),
  /** Addition (0015): the caller's user id, also when it names no users row (the platform operator). */
  actorSubject: text("actor_subject"),
});

/** Every table of the schema, by its Postgres name: TC-SEC-001 and the schema test walk them all. */
export const FACTORY_TABLES = {
  tenants, users, workflows, workflow_steps: workflowSteps, workflow_instances: workflowInstances,
  workflow_execution_logs: workflowExecutionLogs, judgment_executions: judgmentExecutions, judgment_cache: judgmentCache,
  rulesets, rule_scripts: ruleScripts, rule_deployments: ruleDeployments, rule_conflicts: ruleConflicts, feedbacks,
  learning_samples: learningSamples, auto_rule_candidates: autoRuleCandidates, model_training_jobs: modelTrainingJobs,
  prompt_templates: promptTemplates, prompt_template_bodies: promptTemplateBodies, llm_calls: llmCalls,
  chat_sessions: chatSessions, chat_messages: chatMessages, intent_logs: intentLogs, data_connectors: dataConnectors,
  mcp_servers: mcpServers, mcp_tools: mcpTools, mcp_call_logs: mcpCallLogs, audit_logs: auditLogs,
} as const;
