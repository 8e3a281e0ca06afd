import { boolean, date, inet, integer, pgSchema, text, timestamp, uuid } from "drizzle-orm/pg-core";

/** Drizzle view of the `exam` schema (spec 000 §25.1); migrations/ is the source of truth. */
export const exam = pgSchema("exam");

export const LEVELS = ["FUTURE", "JUNIOR", "BASIC", "ASSOCIATE", "PROFESSIONAL"] as const;
export const TARGET_TYPES = ["PASS_FIRST", "HIGH_SCORE", "PRACTICAL"] as const;

/** created_at and updated_at of the tables that have both. */
export const timestamps = {
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
};

export const examProfiles = exam.table("exam_profiles", {
  id: uuid("id").primaryKey(),
  userId: uuid("user_id").notNull().unique(),
  level: text("level", { enum: LEVELS }).notNull(),
  examDate: date("exam_date").notNull(),
  targetType: text("target_type", { enum: TARGET_TYPES }).notNull(),
  ...timestamps,
});

export const TASK_TYPES = ["DRILL", "LAB", "REVIEW", "MOCK"] as const;
export const TASK_STATUSES = ["TODO", "DONE", "SKIPPED"] as const;
export const ENGINE_TYPES = ["BLOCK", "GUI", "JUPYTER"] as const;
export const SESSION_MODES = ["PRACTICE", "PRACTICE_PLUS", "MOCK"] as const;
export const SESSION_STATUSES = ["CREATED", "RUNNING", "PAUSED", "SUBMITTED", "REVIEWED", "CLOSED", "FORCE_CLOSED", "ABANDONED"] as const;
export const STEP_RESULTS = ["PASS", "FAIL", "PARTIAL"] as const;
export const VERDICTS = ["ALLOW", "WARN", "BLOCK"] as const;

export const plans = exam.table("plans", {
  id: uuid("id").primaryKey(),
  userId: uuid("user_id").notNull(),
  examProfileId: uuid("exam_profile_id").notNull(),
  startDate: date("start_date").notNull(),
  examDate: date("exam_date").notNull(),
  compressionFlag: boolean("compression_flag").notNull().default(false),
  readyIndexSnapshot: integer("ready_index_snapshot").notNull().default(0),
  ...timestamps,
});

export const planTasks = exam.table("plan_tasks", {
  id: uuid("id").primaryKey(),
  planId: uuid("plan_id").notNull(),
  taskDate: date("task_date").notNull(),
  taskType: text("task_type", { enum: TASK_TYPES }).notNull(),
  refId: uuid("ref_id"),
  status: text("status", { enum: TASK_STATUSES }).notNull(),
  estMinutes: integer("est_minutes").notNull(),
  ...timestamps,
});

export const sessions = exam.table("sessions", {
  id: uuid("id").primaryKey(),
  userId: uuid("user_id").notNull(),
  labId: uuid("lab_id").notNull(),
  level: text("level", { enum: LEVELS }).notNull(),
  engineType: text("engine_type", { enum: ENGINE_TYPES }).notNull(),
  policyId: uuid("policy_id").notNull(),
  mode: text("mode", { enum: SESSION_MODES }).notNull(),
  status: text("status", { enum: SESSION_STATUSES }).notNull(),
  startedAt: timestamp("started_at", { withTimezone: true, mode: "date" }),
  endedAt: timestamp("ended_at", { withTimezone: true, mode: "date" }),
  finalScore: integer("final_score"),
  ...timestamps,
});

export const stepSubmissions = exam.table("step_submissions", {
  id: uuid("id").primaryKey(),
  sessionId: uuid("session_id").notNull(),
  stepNo: integer("step_no").notNull(),
  attemptNo: integer("attempt_no").notNull(),
  result: text("result", { enum: STEP_RESULTS }).notNull(),
  score: integer("score").notNull().default(0),
  errorCodes: text("error_codes").array().notNull().default([]),
  runtimeMs: integer("runtime_ms").notNull().default(0),
  codeSnapshotRef: text("code_snapshot_ref"),
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});

export const auditPolicyEvents = exam.table("audit_policy_events", {
  id: uuid("id").primaryKey(),
  userId: uuid("user_id").notNull(),
  sessionId: uuid("session_id"),
  policyId: uuid("policy_id"),
  action: text("action").notNull(),
  verdict: text("verdict", { enum: VERDICTS }).notNull(),
  reasonCode: text("reason_code"),
  clientIp: inet("client_ip"),
  userAgent: text("user_agent"),
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});
