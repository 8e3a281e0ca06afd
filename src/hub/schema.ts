import { bigserial, integer, jsonb, pgSchema, timestamp, uuid, varchar } from "drizzle-orm/pg-core";

/**
 * Drizzle view of the `hub` schema (spec 004 §3); migrations/0006_hub.up.sql is the source of truth.
 * Timestamps are the document's TIMESTAMP without time zone, holding UTC (drizzle reads them as UTC).
 */
export const hub = pgSchema("hub");

export const EVENT_TYPES = ["study", "test", "intervention", "review", "assessment"] as const;
export const INTERVENTION_TYPES = ["auto", "teacher_requested"] as const;
export const INTERVENTION_STATUSES = ["active", "paused", "completed", "cancelled"] as const;
export const SCHEDULE_TYPES = ["cron", "interval", "one_time"] as const;
export const TASK_STATUSES = ["active", "paused", "completed"] as const;
export const TASK_TYPES = ["daily_report", "weekly_analytics"] as const;

const ts = (name: string) => timestamp(name, { mode: "date" });

export const students = hub.table("students", {
  id: uuid("id").primaryKey(),
  name: varchar("name", { length: 100 }).notNull(),
  schoolId: varchar("school_id", { length: 50 }).notNull(),
  grade: integer("grade").notNull(),
  className: varchar("class_name", { length: 50 }),
  studentNumber: varchar("student_number", { length: 20 }),
  email: varchar("email", { length: 255 }),
  parentContact: varchar("parent_contact", { length: 20 }),
  metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull(),
  createdAt: ts("created_at").notNull().defaultNow(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
  /** Addition: the JWT `sub` of the student's own account. */
  userId: uuid("user_id"),
});

export const learningHistory = hub.table("learning_history", {
  id: bigserial("id", { mode: "bigint" }).notNull(),
  occurredAt: ts("occurred_at").notNull(),
  studentId: uuid("student_id").notNull(),
  eventType: varchar("event_type", { length: 50, enum: EVENT_TYPES }).notNull(),
  sourceNode: integer("source_node").notNull(),
  sourceId: varchar("source_id", { length: 255 }),
  content: jsonb("content").$type<Record<string, unknown>>().notNull(),
  createdAt: ts("created_at").notNull().defaultNow(),
  /** Addition: the client-supplied idempotency key. */
  eventId: uuid("event_id"),
});

export const interventions = hub.table("interventions", {
  id: uuid("id").primaryKey(),
  studentId: uuid("student_id").notNull(),
  type: varchar("type", { length: 50, enum: INTERVENTION_TYPES }).notNull(),
  weakAreas: jsonb("weak_areas").$type<Record<string, unknown>[]>().notNull(),
  learningPath: jsonb("learning_path").$type<Record<string, unknown>[]>().notNull(),
  status: varchar("status", { length: 20, enum: INTERVENTION_STATUSES }).notNull(),
  progress: jsonb("progress").$type<{ completed: number; total: number }>().notNull(),
  createdAt: ts("created_at").notNull().defaultNow(),
  completedAt: ts("completed_at"),
});

export const scheduledTasks = hub.table("scheduled_tasks", {
  id: uuid("id").primaryKey(),
  studentId: uuid("student_id"),
  taskType: varchar("task_type", { length: 50, enum: TASK_TYPES }).notNull(),
  scheduleType: varchar("schedule_type", { length: 20, enum: SCHEDULE_TYPES }).notNull(),
  cronExpression: varchar("cron_expression", { length: 100 }),
  config: jsonb("config").$type<Record<string, unknown>>().notNull(),
  status: varchar("status", { length: 20, enum: TASK_STATUSES }).notNull(),
  nextRunAt: ts("next_run_at"),
  lastRunAt: ts("last_run_at"),
  celeryTaskId: varchar("celery_task_id", { length: 255 }),
  createdAt: ts("created_at").notNull().defaultNow(),
  /** Addition: the period of schedule_type 'interval'. */
  intervalSeconds: integer("interval_seconds"),
});

/** Addition: what each scheduled-task run produced. */
export const taskRuns = hub.table("task_runs", {
  id: uuid("id").primaryKey(),
  taskId: uuid("task_id").notNull(),
  studentId: uuid("student_id"),
  taskType: varchar("task_type", { length: 50 }).notNull(),
  report: jsonb("report").$type<Record<string, unknown>>().notNull(),
  scheduledFor: ts("scheduled_for").notNull(),
  createdAt: ts("created_at").notNull().defaultNow(),
});
