import { date, integer, jsonb, numeric, pgSchema, text, timestamp } from "drizzle-orm/pg-core";

/** Drizzle view of the `seedtest` schema (spec 001); migrations/0007_seedtest.up.sql is the source of truth. */
export const seedtest = pgSchema("seedtest");

export type Json = Record<string, unknown>;

export const classrooms = seedtest.table("classroom", {
  classroomId: text("classroom_id").primaryKey(),
  name: text("name").notNull(),
  orgId: integer("org_id"),
  teacherId: text("teacher_id"),
  gradeLevel: text("grade_level"),
  metadata: jsonb("metadata").$type<Json>(),
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});

export const sessions = seedtest.table("session", {
  sessionId: text("session_id").primaryKey(),
  userId: text("user_id").notNull(),
  classroomId: text("classroom_id"),
  startedAt: timestamp("started_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  endedAt: timestamp("ended_at", { withTimezone: true, mode: "date" }),
  sessionType: text("session_type"),
  metadata: jsonb("metadata").$type<Json>(),
});

export const interestGoals = seedtest.table("interest_goal", {
  userId: text("user_id").notNull(),
  topicId: text("topic_id").notNull(),
  interestLevel: numeric("interest_level", { mode: "number" }),
  goalTarget: numeric("goal_target", { mode: "number" }),
  setAt: timestamp("set_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});

export const featuresTopicDaily = seedtest.table("features_topic_daily", {
  userId: text("user_id").notNull(),
  topicId: text("topic_id").notNull(),
  date: date("date", { mode: "string" }).notNull(),
  features: jsonb("features").$type<Json>().notNull(),
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});
