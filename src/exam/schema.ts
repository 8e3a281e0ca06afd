import { date, pgSchema, text, timestamp, uuid } from "drizzle-orm/pg-core";

/** Drizzle view of the `exam` schema (spec 000 §25.1); migrations/ is the source of truth. */
export const exam = pgSchema("exam");

export const LEVELS = ["FUTURE", "JUNIOR", "BASIC", "ASSOCIATE", "PROFESSIONAL"] as const;
export const TARGET_TYPES = ["PASS_FIRST", "HIGH_SCORE", "PRACTICAL"] as const;

export const examProfiles = exam.table("exam_profiles", {
  id: uuid("id").primaryKey(),
  userId: uuid("user_id").notNull().unique(),
  level: text("level", { enum: LEVELS }).notNull(),
  examDate: date("exam_date").notNull(),
  targetType: text("target_type", { enum: TARGET_TYPES }).notNull(),
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});
