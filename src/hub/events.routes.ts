import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, gte, lt, sql } from "drizzle-orm";
import { runAs } from "../platform/db";
import { problemResponses } from "../platform/openapi";
import { ApiError, notFound } from "../platform/problem";
import { createRouter } from "../platform/router";
import { requireAdmin, requireStaff } from "./access";
import { CursorParam as Cursor, decodeCursor, Limit, paginate, PgTimestampKey } from "../platform/paging";
import { fromPgTimestamp, JsonObjectParam, Timestamp, toPgTimestamp } from "./paging";
import { EVENT_TYPES, learningHistory, students } from "./schema";
import { JsonObject } from "../platform/input";

export const MAX_BATCH = 1000;
/** Events are things that happened: a day of clock skew is tolerated, the future is not. */
const FUTURE_SKEW_MS = 24 * 3600 * 1000;

const EventInput = z
  .object({
    eventId: z.uuid().openapi({ description: "client-chosen id; resending an event with the same eventId and occurredAt is a no-op" }),
    eventType: z.enum(EVENT_TYPES),
    sourceNode: z.number().int().min(1).max(6).openapi({ description: "the node that produced the event (1–6)" }),
    sourceId: z.string().max(255).nullish(),
    content: JsonObject.openapi({ example: { concept: "quadratics", result: "correct", time_spent: 180 } }),
    occurredAt: Timestamp.refine((s) => s >= "2000-01-01" && Date.parse(s) <= Date.now() + FUTURE_SKEW_MS, "must be after 2000-01-01 and not in the future"),
  })
  .strict()
  .openapi("LearningEventInput");

const IngestBody = z.object({ events: z.array(EventInput).min(1).max(MAX_BATCH) }).strict().openapi("LearningEventBatch");

const IngestResult = z
  .object({
    received: z.number().int(),
    inserted: z.number().int(),
    duplicates: z.number().int().openapi({ description: "events already stored (same eventId and occurredAt): a retried batch" }),
    partitionsCreated: z.array(z.string()).openapi({ description: "monthly partitions this batch had to create" }),
  })
  .openapi("LearningEventIngestResult");

export const LearningEvent = z
  .object({
    id: z.string().openapi({ description: "bigint, as a string" }),
    eventId: z.uuid().nullable(),
    studentId: z.uuid(),
    eventType: z.enum(EVENT_TYPES),
    sourceNode: z.number().int(),
    sourceId: z.string().nullable(),
    content: z.record(z.string(), z.unknown()),
    occurredAt: z.iso.datetime(),
    createdAt: z.iso.datetime(),
  })
  .openapi("LearningEvent");

const EventPage = z.object({ items: z.array(LearningEvent), nextCursor: z.string().nullable() }).openapi("LearningEventPage");

const StudentParam = z.object({ id: z.uuid() });

const HistoryQuery = z.object({
  from: Timestamp.optional().openapi({ description: "occurredAt ≥ from" }),
  to: Timestamp.optional().openapi({ description: "occurredAt < to" }),
  eventType: z.enum(EVENT_TYPES).optional(),
  contains: JsonObjectParam.optional().openapi({ type: "string", description: "JSON object the content must contain (JSONB @>)", example: '{"result":"correct"}' }),
  limit: Limit,
  cursor: Cursor,
});

const ArchiveQuery = z.object({
  from: Timestamp.default("2000-01-01T00:00:00Z"),
  to: Timestamp.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const tags = ["hub"];

const ingest = createRoute({
  method: "post",
  path: "/students/{id}/events",
  tags,
  summary: "Ingest up to 1000 learning events for a student (all or nothing, idempotent by eventId)",
  description:
    "One INSERT … SELECT of the whole batch in one round trip. Months without a partition get one in the same transaction. " +
    "A batch with any invalid event is refused with 422 naming each bad index (invalidEvents) and nothing is written.",
  request: { params: StudentParam, body: { required: true, content: { "application/json": { schema: IngestBody } } } },
  responses: {
    200: { description: "Nothing new (every event was already stored)", content: { "application/json": { schema: IngestResult } } },
    201: { description: "Stored", content: { "application/json": { schema: IngestResult } } },
    ...problemResponses(401, 403, 404, 413, 415, 422, 429),
  },
});

const history = createRoute({
  method: "get",
  path: "/students/{id}/events",
  tags,
  summary: "A student's learning history, newest first (keyset pages)",
  request: { params: StudentParam, query: HistoryQuery },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: EventPage } } },
    ...problemResponses(401, 403, 404, 422, 429),
  },
});

const archived = createRoute({
  method: "get",
  path: "/archive/students/{id}/events",
  tags,
  summary: "Admin: a student's archived history (partitions older than two years), newest first",
  request: { params: StudentParam, query: ArchiveQuery },
  responses: {
    200: {
      description: "Archived events",
      content: { "application/json": { schema: z.object({ items: z.array(LearningEvent.extend({ partition: z.string() })) }) } },
    },
    ...problemResponses(401, 403, 422, 429),
  },
});

const eventColumns = {
  id: sql<string>`${learningHistory.id}::text`,
  eventId: learningHistory.eventId,
  studentId: learningHistory.studentId,
  eventType: learningHistory.eventType,
  sourceNode: learningHistory.sourceNode,
  sourceId: learningHistory.sourceId,
  content: learningHistory.content,
  occurredAt: learningHistory.occurredAt,
  createdAt: learningHistory.createdAt,
};

const HistoryKey = z.tuple([PgTimestampKey, z.string().regex(/^\d{1,19}$/)]);

/** First day (UTC) of each month the batch touches: the partitions it needs. */
const monthsOf = (events: { occurredAt: string }[]) =>
  [...new Set(events.map((e) => new Date(e.occurredAt).toISOString().slice(0, 7)))].map((m) => `${m}-01`);

export const eventRoutes = createRouter()
  .openapi(
    ingest,
    async (c) => {
      const { db } = c.var;
      const principal = c.var.principal!;
      requireStaff(principal);
      const { id } = c.req.valid("param");
      const { events } = c.req.valid("json");
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
      const [partitions, inserted, visible] = await runAs(db, principal, [
        db.execute<{ created: string[] }>(sql`select hub.ensure_learning_history_partitions(${`{${monthsOf(events).join(",")}}`}::date[]) as created`),
        // One multi-row INSERT … SELECT: the student row is joined in so RLS decides, in the
        // same statement, whether the caller may write for this student.
        db.execute<{ event_id: string }>(sql`
          insert into hub.learning_history (student_id, event_id, event_type, source_node, source_id, content, occurred_at)
          select s.id, e.event_id, e.event_type, e.source_node, e.source_id, e.content, e.occurred_at
          from hub.students s
          cross join jsonb_to_recordset(${rows}::jsonb)
            as e(event_id uuid, event_type text, source_node int, source_id text, content jsonb, occurred_at timestamp)
          where s.id = ${id}
          on conflict (event_id, occurred_at) do nothing
          returning event_id`),
        db.select({ id: students.id }).from(students).where(eq(students.id, id)),
      ] as const);
      if (!visible[0]) throw notFound(`student ${id}`);
      const count = inserted.rows.length;
      const result = {
        received: events.length,
        inserted: count,
        duplicates: events.length - count,
        partitionsCreated: partitions.rows[0]?.created ?? [],
      };
      return c.json(result, count > 0 ? 201 : 200);
    },
    // The batch's own hook: a 422 that lists every bad event's index, not only field paths.
    (result) => {
      if (result.success || result.target !== "json") return;
      const errors = result.error.issues.map((i) => ({ path: ["json", ...i.path.map(String)].join("."), message: i.message }));
      const invalidEvents = [
        ...new Set(result.error.issues.filter((i) => i.path[0] === "events" && typeof i.path[1] === "number").map((i) => i.path[1] as number)),
      ].sort((a, b) => a - b);
      const detail = invalidEvents.length
        ? `events ${invalidEvents.join(", ")} are invalid; nothing of this batch was stored`
        : errors.map((e) => `${e.path}: ${e.message}`).join("; ");
      throw new ApiError(422, "invalid_events", detail, { errors, invalidEvents });
    },
  )
  .openapi(history, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const query = c.req.valid("query");
    const after = decodeCursor(query.cursor, HistoryKey);
    const occurredText = sql<string>`${learningHistory.occurredAt}::text`;
    // student_id (+ event_type) and occurred_at DESC: idx_lh_student_occurred or
    // idx_lh_student_event per partition, scanned newest partition first.
    const [rows, visible] = await runAs(db, c.var.principal, [
      db
        .select({ ...eventColumns, occurredText })
        .from(learningHistory)
        .where(
          and(
            eq(learningHistory.studentId, id),
            query.eventType ? eq(learningHistory.eventType, query.eventType) : undefined,
            query.from ? gte(learningHistory.occurredAt, new Date(query.from)) : undefined,
            query.to ? lt(learningHistory.occurredAt, new Date(query.to)) : undefined,
            query.contains ? sql`${learningHistory.content} @> ${JSON.stringify(query.contains)}::jsonb` : undefined,
            after ? sql`(${learningHistory.occurredAt}, ${learningHistory.id}) < (${after[0]}::timestamp, ${after[1]}::bigint)` : undefined,
          ),
        )
        .orderBy(desc(learningHistory.occurredAt), desc(learningHistory.id))
        .limit(query.limit + 1),
      db.select({ id: students.id }).from(students).where(eq(students.id, id)),
    ] as const);
    if (!visible[0]) throw notFound(`student ${id}`);
    const { items, nextCursor } = paginate(rows, query.limit, (last) => [last.occurredText, last.id]);
    return c.json({ items: items.map(({ occurredText: _, ...e }) => e), nextCursor }, 200);
  })
  .openapi(archived, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireAdmin(principal);
    const { id } = c.req.valid("param");
    const { from, to, limit } = c.req.valid("query");
    const [result] = await runAs(db, principal, [
      db.execute<Record<string, string | null>>(sql`
        select id::text as id, event_id, student_id, event_type, source_node, source_id, content::text as content,
               occurred_at::text as occurred_at, created_at::text as created_at, partition_name
        from hub.archived_learning_history(${id}, ${toPgTimestamp(from)}::timestamp,
          ${to ? toPgTimestamp(to) : "infinity"}::timestamp, ${limit})`),
    ] as const);
    const items = result.rows.map((r) => ({
      id: r.id as string,
      eventId: r.event_id ?? null,
      studentId: r.student_id as string,
      eventType: r.event_type as (typeof EVENT_TYPES)[number],
      sourceNode: Number(r.source_node),
      sourceId: r.source_id ?? null,
      content: JSON.parse(r.content as string) as Record<string, unknown>,
      occurredAt: fromPgTimestamp(r.occurred_at as string),
      createdAt: fromPgTimestamp(r.created_at as string),
      partition: r.partition_name as string,
    }));
    return c.json({ items }, 200);
  });
