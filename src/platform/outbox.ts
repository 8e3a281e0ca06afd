import { sql } from "drizzle-orm";
import { jsonb, pgSchema, text, timestamp, uuid, integer } from "drizzle-orm/pg-core";
import type { Database } from "./db";

const app = pgSchema("app");

/** The transactional outbox (migration 0003): written in the same batch as the change it reports. */
export const outboxEvents = app.table("outbox_events", {
  id: uuid("id").primaryKey(),
  system: text("system").notNull(),
  eventType: text("event_type").notNull(),
  actorId: text("actor_id"),
  entityId: text("entity_id"),
  payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
  occurredAt: timestamp("occurred_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  claimedUntil: timestamp("claimed_until", { withTimezone: true, mode: "date" }),
  attempts: integer("attempts").notNull().default(0),
  publishedAt: timestamp("published_at", { withTimezone: true, mode: "date" }),
});

/** Consumers' dedupe ledger: (consumer, event id) once applied. */
export const consumedEvents = app.table("consumed_events", {
  consumer: text("consumer").notNull(),
  eventId: uuid("event_id").notNull(),
  consumedAt: timestamp("consumed_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});

/** The event envelope of spec 000 §26.2, as it travels on the queue. eventId is the outbox row's UUID. */
export interface EventEnvelope<P extends Record<string, unknown> = Record<string, unknown>> {
  eventId: string;
  eventType: string;
  occurredAt: string;
  actorId: string | null;
  entityId: string | null;
  payload: P;
}

export interface NewEvent {
  system: string;
  eventType: string;
  actorId: string | null;
  entityId: string | null;
  payload: Record<string, unknown>;
}

/** The insert to put in the same db.batch as the change the event reports. */
export function outboxInsert(db: Database, event: NewEvent) {
  return db.insert(outboxEvents).values({ id: sql`gen_random_uuid()`, ...event });
}
