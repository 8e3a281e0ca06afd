import { integer, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { exam, timestamps } from "./schema";

/** Drizzle view of the event consumers' tables (migrations 0003 and 0005; docs/exam-events.md). */

export const mistakeStats = exam.table("mistake_stats", {
  id: uuid("id").primaryKey(),
  userId: uuid("user_id").notNull(),
  errorCode: text("error_code").notNull(),
  occurrences: integer("occurrences").notNull().default(0),
  drillsCompleted: integer("drills_completed").notNull().default(0),
  lastSeenAt: timestamp("last_seen_at", { withTimezone: true, mode: "date" }),
  lastDrilledAt: timestamp("last_drilled_at", { withTimezone: true, mode: "date" }),
  ...timestamps,
});

export const eventMetrics = exam.table("event_metrics", {
  eventId: uuid("event_id").primaryKey(),
  eventType: text("event_type").notNull(),
  userId: uuid("user_id").notNull(),
  entityId: text("entity_id"),
  occurredAt: timestamp("occurred_at", { withTimezone: true, mode: "date" }).notNull(),
  mode: text("mode"),
  level: text("level"),
  result: text("result"),
  score: integer("score"),
  runtimeMs: integer("runtime_ms"),
  errorCount: integer("error_count"),
  recordedAt: timestamp("recorded_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});
