import { boolean, date, integer, jsonb, numeric, pgSchema, text, timestamp, unique, uuid, varchar } from "drizzle-orm/pg-core";

/**
 * Drizzle view of the `agent` schema (spec 002 §3–§6); migrations/0010_agent.up.sql is the source
 * of truth. `organizationId` on the organization's work is the migration's addition (row-level
 * security isolates organizations on the row itself). The checkpoint tables are migration 0011's.
 */
export const agent = pgSchema("agent");

export const USER_ROLES = ["admin", "manager", "user", "viewer"] as const;
export const SESSION_STATUSES = ["active", "completed", "expired", "error"] as const;
export const PLAN_STATUSES = ["draft", "approved", "executing", "paused", "waiting", "completed", "failed", "cancelled"] as const;
export const CHANGE_TYPES = ["create", "replan", "user_edit", "auto_adjust"] as const;
export const TODO_STATUSES = ["pending", "in_progress", "completed", "failed", "blocked", "skipped", "needs_approval", "cancelled"] as const;
export const HITL_EVENT_TYPES = ["plan_review", "approval_request", "input_request", "pause", "resume", "cancel", "edit", "replan"] as const;
export const HITL_STATUSES = ["pending", "completed", "timeout", "cancelled"] as const;
export const TOOL_TYPES = ["data", "analysis", "content", "business"] as const;
export const METRIC_TYPES = ["token_usage", "api_calls", "execution_time", "plan_count", "todo_count", "success_rate"] as const;

type Json = Record<string, unknown>;
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });
const orgId = () => uuid("organization_id").notNull().references(() => organizations.id);

export const organizations = agent.table("organizations", {
  id: uuid("id").primaryKey().defaultRandom(),
  name: varchar("name", { length: 255 }).notNull(),
  slug: varchar("slug", { length: 100 }).unique(),
  settings: jsonb("settings").$type<Json>().default({}),
  maxUsers: integer("max_users").default(10),
  maxDailyRequests: integer("max_daily_requests").default(1000),
  maxMonthlyTokens: integer("max_monthly_tokens").default(1_000_000),
  currentMonthTokens: integer("current_month_tokens").default(0),
  isActive: boolean("is_active").default(true),
  createdAt: ts("created_at").defaultNow(),
  updatedAt: ts("updated_at").defaultNow(),
  /** Addition (0014): the UTC month current_month_tokens counts; the reset cron moves it. */
  tokensMonth: date("tokens_month", { mode: "string" }),
});

export const users = agent.table("users", {
  id: uuid("id").primaryKey().defaultRandom(),
  email: varchar("email", { length: 255 }).notNull().unique(),
  name: varchar("name", { length: 100 }),
  passwordHash: varchar("password_hash", { length: 255 }),
  apiKeyHash: varchar("api_key_hash", { length: 255 }).unique(),
  organizationId: uuid("organization_id").references(() => organizations.id),
  role: varchar("role", { length: 50, enum: USER_ROLES }).default("user"),
  preferences: jsonb("preferences").$type<Json>().default({}),
  language: varchar("language", { length: 10 }).default("KOR"),
  isActive: boolean("is_active").default(true),
  createdAt: ts("created_at").defaultNow(),
  updatedAt: ts("updated_at").defaultNow(),
  lastLoginAt: ts("last_login_at"),
});

export const sessions = agent.table("sessions", {
  id: uuid("id").primaryKey().defaultRandom(),
  userId: uuid("user_id").references(() => users.id),
  status: varchar("status", { length: 20, enum: SESSION_STATUSES }).notNull().default("active"),
  language: varchar("language", { length: 10 }).default("KOR"),
  initialInput: text("initial_input"),
  currentContext: jsonb("current_context").$type<Json>().default({}),
  createdAt: ts("created_at").defaultNow(),
  updatedAt: ts("updated_at").defaultNow(),
  expiresAt: ts("expires_at"),
  organizationId: orgId(),
});

export const plans = agent.table("plans", {
  id: uuid("id").primaryKey().defaultRandom(),
  sessionId: uuid("session_id").notNull().references(() => sessions.id, { onDelete: "cascade" }),
  status: varchar("status", { length: 20, enum: PLAN_STATUSES }).notNull().default("draft"),
  currentVersion: integer("current_version").default(1),
  intent: jsonb("intent").$type<Json>(),
  totalTodos: integer("total_todos").default(0),
  completedTodos: integer("completed_todos").default(0),
  failedTodos: integer("failed_todos").default(0),
  estimatedCost: numeric("estimated_cost", { precision: 10, scale: 2 }),
  actualCost: numeric("actual_cost", { precision: 10, scale: 2 }),
  estimatedDurationSeconds: integer("estimated_duration_seconds"),
  actualDurationSeconds: integer("actual_duration_seconds"),
  createdAt: ts("created_at").defaultNow(),
  updatedAt: ts("updated_at").defaultNow(),
  startedAt: ts("started_at"),
  completedAt: ts("completed_at"),
  organizationId: orgId(),
});

export const planVersions = agent.table(
  "plan_versions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    planId: uuid("plan_id").notNull().references(() => plans.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    todosSnapshot: jsonb("todos_snapshot").$type<Json[]>().notNull(),
    changeType: varchar("change_type", { length: 20, enum: CHANGE_TYPES }).notNull(),
    changeReason: text("change_reason"),
    changedBy: varchar("changed_by", { length: 50 }),
    createdAt: ts("created_at").defaultNow(),
    organizationId: orgId(),
  },
  (t) => [unique().on(t.planId, t.version)],
);

export const todos = agent.table("todos", {
  id: uuid("id").primaryKey().defaultRandom(),
  planId: uuid("plan_id").notNull().references(() => plans.id, { onDelete: "cascade" }),
  title: varchar("title", { length: 255 }).notNull(),
  description: text("description"),
  status: varchar("status", { length: 20, enum: TODO_STATUSES }).notNull().default("pending"),
  priority: integer("priority").default(5),
  layer: varchar("layer", { length: 50 }).notNull(),
  toolName: varchar("tool_name", { length: 100 }),
  toolParams: jsonb("tool_params").$type<Json>().default({}),
  dependsOn: uuid("depends_on").array().default([]),
  blocks: uuid("blocks").array().default([]),
  timeoutSeconds: integer("timeout_seconds").default(300),
  maxRetries: integer("max_retries").default(3),
  retryCount: integer("retry_count").default(0),
  progressPercentage: integer("progress_percentage").default(0),
  errorMessage: text("error_message"),
  requiresApproval: boolean("requires_approval").default(false),
  approvedBy: uuid("approved_by").references(() => users.id),
  approvedAt: ts("approved_at"),
  rejectionReason: text("rejection_reason"),
  inputData: jsonb("input_data").$type<Json>(),
  outputPath: text("output_path"),
  resultData: jsonb("result_data").$type<Json>(),
  createdAt: ts("created_at").defaultNow(),
  updatedAt: ts("updated_at").defaultNow(),
  startedAt: ts("started_at"),
  completedAt: ts("completed_at"),
  executionOrder: integer("execution_order"),
  organizationId: orgId(),
});

export const executionResults = agent.table("execution_results", {
  id: uuid("id").primaryKey().defaultRandom(),
  todoId: uuid("todo_id").notNull().references(() => todos.id, { onDelete: "cascade" }),
  planId: uuid("plan_id").notNull().references(() => plans.id, { onDelete: "cascade" }),
  sessionId: uuid("session_id").notNull().references(() => sessions.id, { onDelete: "cascade" }),
  success: boolean("success").notNull(),
  resultData: jsonb("result_data").$type<Json>(),
  errorMessage: text("error_message"),
  errorStack: text("error_stack"),
  executionTimeMs: integer("execution_time_ms").notNull(),
  startedAt: ts("started_at").notNull(),
  completedAt: ts("completed_at").notNull(),
  toolName: varchar("tool_name", { length: 100 }),
  toolVersion: varchar("tool_version", { length: 20 }),
  tokensUsed: integer("tokens_used"),
  apiCallsCount: integer("api_calls_count"),
  createdAt: ts("created_at").defaultNow(),
  organizationId: orgId(),
});

export const hitlEvents = agent.table("hitl_events", {
  id: uuid("id").primaryKey().defaultRandom(),
  sessionId: uuid("session_id").notNull().references(() => sessions.id, { onDelete: "cascade" }),
  planId: uuid("plan_id").references(() => plans.id, { onDelete: "set null" }),
  todoId: uuid("todo_id").references(() => todos.id, { onDelete: "set null" }),
  eventType: varchar("event_type", { length: 50, enum: HITL_EVENT_TYPES }).notNull(),
  eventData: jsonb("event_data").$type<Json>().default({}),
  userId: uuid("user_id").references(() => users.id),
  userInput: text("user_input"),
  userDecision: varchar("user_decision", { length: 50 }),
  requestedAt: ts("requested_at").defaultNow(),
  respondedAt: ts("responded_at"),
  timeoutAt: ts("timeout_at"),
  status: varchar("status", { length: 20, enum: HITL_STATUSES }).default("pending"),
  organizationId: orgId(),
});

export const tools = agent.table("tools", {
  id: uuid("id").primaryKey().defaultRandom(),
  name: varchar("name", { length: 100 }).notNull().unique(),
  displayName: varchar("display_name", { length: 200 }),
  description: text("description"),
  type: varchar("type", { length: 20, enum: TOOL_TYPES }).notNull(),
  layer: varchar("layer", { length: 50 }).notNull(),
  parametersSchema: jsonb("parameters_schema").$type<Json | unknown[]>().notNull().default([]),
  outputSchema: jsonb("output_schema").$type<Json>(),
  executorClass: varchar("executor_class", { length: 255 }).notNull(),
  timeoutSeconds: integer("timeout_seconds").default(300),
  tags: text("tags").array().default([]),
  version: varchar("version", { length: 20 }).default("1.0.0"),
  dependencies: text("dependencies").array().default([]),
  isActive: boolean("is_active").default(true),
  createdAt: ts("created_at").defaultNow(),
  updatedAt: ts("updated_at").defaultNow(),
  /** Addition: the owning organization, or null for a tool every organization shares. */
  organizationId: uuid("organization_id").references(() => organizations.id),
  /** Addition (0013): seconds a result stays in the §8.2 cache; null = 1 hour, 0 = never cached. */
  cacheTtlSeconds: integer("cache_ttl_seconds"),
});

export const toolExecutions = agent.table("tool_executions", {
  id: uuid("id").primaryKey().defaultRandom(),
  toolId: uuid("tool_id").references(() => tools.id),
  toolName: varchar("tool_name", { length: 100 }).notNull(),
  sessionId: uuid("session_id").references(() => sessions.id),
  todoId: uuid("todo_id").references(() => todos.id),
  inputParams: jsonb("input_params").$type<Json>(),
  outputData: jsonb("output_data").$type<Json>(),
  success: boolean("success").notNull(),
  errorMessage: text("error_message"),
  executionTimeMs: integer("execution_time_ms"),
  startedAt: ts("started_at").notNull(),
  completedAt: ts("completed_at"),
  tokensUsed: integer("tokens_used"),
  costUsd: numeric("cost_usd", { precision: 10, scale: 6 }),
  createdAt: ts("created_at").defaultNow(),
  organizationId: orgId(),
});

export const usageMetrics = agent.table("usage_metrics", {
  id: uuid("id").primaryKey().defaultRandom(),
  organizationId: uuid("organization_id").references(() => organizations.id),
  userId: uuid("user_id").references(() => users.id),
  sessionId: uuid("session_id").references(() => sessions.id),
  metricType: varchar("metric_type", { length: 50, enum: METRIC_TYPES }).notNull(),
  metricValue: numeric("metric_value", { precision: 15, scale: 4 }),
  metricData: jsonb("metric_data").$type<Json>(),
  recordedAt: ts("recorded_at").defaultNow(),
  periodStart: ts("period_start"),
  periodEnd: ts("period_end"),
});

export const feedback = agent.table("feedback", {
  id: uuid("id").primaryKey().defaultRandom(),
  sessionId: uuid("session_id").references(() => sessions.id),
  planId: uuid("plan_id").references(() => plans.id),
  userId: uuid("user_id").references(() => users.id),
  rating: integer("rating"),
  feedbackType: varchar("feedback_type", { length: 50 }),
  comment: text("comment"),
  contextData: jsonb("context_data").$type<Json>(),
  createdAt: ts("created_at").defaultNow(),
  organizationId: orgId(),
});
