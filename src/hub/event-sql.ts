import { getTableColumns, sql } from "drizzle-orm";
import type { Database } from "../platform/db";
import { columnsOf } from "../platform/table-schema";
import { toPgTimestamp } from "./pg-time";
import { learningHistory, type EVENT_TYPES } from "./schema";

/** A learning event as the ingest route takes it. */
export interface IncomingEvent {
  eventId: string;
  eventType: (typeof EVENT_TYPES)[number];
  sourceNode: number;
  sourceId?: string | null;
  content: Record<string, unknown>;
  occurredAt: string;
}

/** An archived history row: the live row's columns and the archive table it is kept in. */
type ArchivedEvent = Omit<typeof learningHistory.$inferSelect, "id"> & { id: string; partition: string };

/** A history row as responses carry it: the bigint id as text (JSON numbers cannot hold every bigint). */
export const eventColumns = columnsOf(learningHistory);

/** Makes sure each month (its first day, YYYY-MM-01) has its partition; returns the partitions it created. */
export const ensurePartitions = (db: Database, months: string[]) =>
  db.execute<{ created: string[] }>(sql`select hub.ensure_learning_history_partitions(${`{${months.join(",")}}`}::date[]) as created`);

/** First day (UTC) of each month the batch touches: the partitions it needs. */
const monthsOf = (events: IncomingEvent[]) => [...new Set(events.map((e) => new Date(e.occurredAt).toISOString().slice(0, 7)))].map((m) => `${m}-01`);

/**
 * A whole batch for one student, as two statements of one transaction: the partitions its months
 * need, then one multi-row INSERT … SELECT, the student row joined in so that RLS decides in the
 * same statement whether the caller may write for this student. An event already stored (same
 * event_id and occurred_at) is skipped: a retried batch adds nothing.
 */
export function ingestStatements(db: Database, studentId: string, events: IncomingEvent[]) {
  const rows = JSON.stringify(
    events.map((e) => ({
      event_id: e.eventId,
      event_type: e.eventType,
      source_node: e.sourceNode,
      source_id: e.sourceId ?? null,
      content: e.content,
      occurred_at: toPgTimestamp(e.occurredAt),
    })),
  );
  return [
    ensurePartitions(db, monthsOf(events)),
    db.execute<{ event_id: string }>(sql`
      insert into hub.learning_history (student_id, event_id, event_type, source_node, source_id, content, occurred_at)
      select s.id, e.event_id, e.event_type, e.source_node, e.source_id, e.content, e.occurred_at
      from hub.students s
      cross join jsonb_to_recordset(${rows}::jsonb)
        as e(event_id uuid, event_type text, source_node int, source_id text, content jsonb, occurred_at timestamp)
      where s.id = ${studentId}
      on conflict (event_id, occurred_at) do nothing
      returning event_id`),
  ] as const;
}

/**
 * A student's archived events, newest first: hub.archived_learning_history (SECURITY DEFINER: the
 * API role has no grant on the archive schema; it checks for the admin or service role itself)
 * returns the table's columns plus the partition each row is in.
 */
export function archivedEvents(db: Database, studentId: string, range: { from: string; to?: string; limit: number }) {
  const to = range.to ? toPgTimestamp(range.to) : "infinity";
  return db.execute<Record<string, unknown>>(
    sql`select * from hub.archived_learning_history(${studentId}, ${toPgTimestamp(range.from)}::timestamp, ${to}::timestamp, ${range.limit}::int)`,
  );
}

/** An archived row read like a live one: each column decoded by the table's own column (dates, jsonb). */
export function archivedEvent(raw: Record<string, unknown>): ArchivedEvent {
  const row = Object.entries(getTableColumns(learningHistory)).map(([key, column]) => [key, raw[column.name] === null ? null : column.mapFromDriverValue(raw[column.name])]);
  return { ...Object.fromEntries(row), id: String(raw.id), partition: String(raw.partition_name) } as ArchivedEvent;
}
