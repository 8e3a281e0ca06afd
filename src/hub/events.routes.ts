import { z } from "@hono/zod-openapi";
import { and, eq, gte, lt, sql } from "drizzle-orm";
import { runAs } from "../platform/db";
import { JsonObject } from "../platform/input";
import { keyset } from "../platform/paging";
import { ApiError, notFound } from "../platform/problem";
import { defineRoute, json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { JsonObjectParam, PageQuery, Timestamp, listOf, pageOf, uuidParams } from "../platform/schemas";
import { rowSchema } from "../platform/table-schema";
import { requireAdmin, requireStaff } from "./access";
import { archivedEvent, archivedEvents, eventColumns, ingestStatements } from "./event-sql";
import { EVENT_TYPES, learningHistory } from "./schema";
import { visibleStudent } from "./student-sql";

const MAX_BATCH = 1000;
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

export const IngestResult = z
  .object({
    received: z.number().int(),
    inserted: z.number().int(),
    duplicates: z.number().int().openapi({ description: "events already stored (same eventId and occurredAt): a retried batch" }),
    partitionsCreated: z.array(z.string()).openapi({ description: "monthly partitions this batch had to create" }),
  })
  .openapi("LearningEventIngestResult");

export const LearningEvent = rowSchema(learningHistory, { content: z.record(z.string(), z.unknown()) }).openapi("LearningEvent");

export const LearningEventPage = pageOf(LearningEvent, "LearningEventPage");

export const ArchivedEventList = listOf(
  LearningEvent.extend({ partition: z.string().openapi({ description: "the archive table the event is kept in" }) }),
  "ArchivedLearningEventList",
);

const params = uuidParams("id");

const HistoryQuery = z.object({
  from: Timestamp.optional().openapi({ description: "occurredAt ≥ from" }),
  to: Timestamp.optional().openapi({ description: "occurredAt < to" }),
  eventType: z.enum(EVENT_TYPES).optional(),
  contains: JsonObjectParam.optional().openapi({ type: "string", description: "JSON object the content must contain (JSONB @>)", example: '{"result":"correct"}' }),
  ...PageQuery,
});

const ArchiveQuery = z.object({
  from: Timestamp.default("2000-01-01T00:00:00Z"),
  to: Timestamp.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const tags = ["hub"];

const ingest = defineRoute(
  {
    method: "post",
    path: "/students/{id}/events",
    tags,
    summary: "Ingest up to 1000 learning events for a student (all or nothing, idempotent by eventId)",
    description:
      "One INSERT … SELECT of the whole batch in one round trip. Months without a partition get one in the same transaction. " +
      "A batch with any invalid event is refused with 422 naming each bad index (invalidEvents) and nothing is written.",
    request: { params, body: jsonBody(IngestBody) },
    responses: { 200: json(IngestResult, "Nothing new (every event was already stored)"), 201: json(IngestResult, "Stored") },
  },
  403,
  404,
);

const history = defineRoute(
  {
    method: "get",
    path: "/students/{id}/events",
    tags,
    summary: "A student's learning history, newest first (keyset pages)",
    request: { params, query: HistoryQuery },
    responses: { 200: json(LearningEventPage, "A page") },
  },
  404,
);

const archived = defineRoute(
  {
    method: "get",
    path: "/archive/students/{id}/events",
    tags,
    summary: "Admin: a student's archived history (partitions older than two years), newest first",
    request: { params, query: ArchiveQuery },
    responses: { 200: json(ArchivedEventList, "Archived events") },
  },
  403,
);

export const eventRoutes = createRouter()
  .openapi(
    ingest,
    async (c) => {
      const { db } = c.var;
      const principal = c.var.principal!;
      requireStaff(principal);
      const { id } = c.req.valid("param");
      const { events } = c.req.valid("json");
      const [partitions, inserted, visible] = await runAs(db, principal, [...ingestStatements(db, id, events), visibleStudent(db, id)] as const);
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
    // student_id (+ event_type) and occurred_at DESC: idx_lh_student_occurred or
    // idx_lh_student_event per partition, scanned newest partition first.
    const k = keyset([learningHistory.occurredAt, learningHistory.id]);
    const [rows, visible] = await runAs(db, c.var.principal, [
      db
        .select({ ...k.columns, ...eventColumns })
        .from(learningHistory)
        .where(
          and(
            eq(learningHistory.studentId, id),
            query.eventType ? eq(learningHistory.eventType, query.eventType) : undefined,
            query.from ? gte(learningHistory.occurredAt, new Date(query.from)) : undefined,
            query.to ? lt(learningHistory.occurredAt, new Date(query.to)) : undefined,
            query.contains ? sql`${learningHistory.content} @> ${JSON.stringify(query.contains)}::jsonb` : undefined,
            k.after(query.cursor),
          ),
        )
        .orderBy(...k.orderBy)
        .limit(query.limit + 1),
      visibleStudent(db, id),
    ] as const);
    if (!visible[0]) throw notFound(`student ${id}`);
    return c.json(k.page(rows, query.limit), 200);
  })
  .openapi(archived, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireAdmin(principal, "read the archive");
    const { id } = c.req.valid("param");
    const [archive] = await runAs(db, principal, [archivedEvents(db, id, c.req.valid("query"))] as const);
    return c.json({ items: archive.rows.map(archivedEvent) }, 200);
  });
