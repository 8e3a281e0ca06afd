import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, isNull, sql, type SQL } from "drizzle-orm";
import { runAs } from "../platform/db";
import { problemResponses } from "../platform/openapi";
import { ApiError, fieldError, notFound } from "../platform/problem";
import { createRouter } from "../platform/router";
import { classroomLock } from "./classrooms.routes";
import { sessions } from "./schema";
import { decodeCursor, exactTime, paginate } from "../platform/paging";
import { callerId, checkRange, Metadata, page, PageQuery, TextId, UserId, TimeKey } from "./shared";

const Timestamp = z.iso.datetime({ offset: true });

const SessionStart = z
  .object({
    classroomId: TextId.nullable().optional().openapi({ description: "A classroom the caller can see; checked when the session starts" }),
    sessionType: z.string().trim().min(1).max(50).nullable().optional().openapi({ example: "practice" }),
    startedAt: Timestamp.optional().openapi({ description: "Defaults to now" }),
    metadata: Metadata.nullable().optional(),
  })
  .strict()
  .openapi("SeedtestSessionStart");

const SessionEnd = z
  .object({ endedAt: Timestamp.optional().openapi({ description: "Defaults to now; must not be before startedAt" }) })
  .strict()
  .openapi("SeedtestSessionEnd");

const Session = z
  .object({
    sessionId: z.string(),
    userId: z.string(),
    classroomId: z.string().nullable(),
    startedAt: z.iso.datetime(),
    endedAt: z.iso.datetime().nullable(),
    sessionType: z.string().nullable(),
    metadata: Metadata.nullable(),
  })
  .openapi("SeedtestSession");

const IdParam = z.object({ sessionId: TextId.openapi({ param: { name: "sessionId", in: "path" } }) });

const columns = {
  sessionId: sessions.sessionId,
  userId: sessions.userId,
  classroomId: sessions.classroomId,
  startedAt: sessions.startedAt,
  endedAt: sessions.endedAt,
  sessionType: sessions.sessionType,
  metadata: sessions.metadata,
};

const tags = ["seedtest"];

const startSession = createRoute({
  method: "post",
  path: "/sessions",
  tags,
  summary: "Start a learning session for the caller",
  request: { body: { required: true, content: { "application/json": { schema: SessionStart } } } },
  responses: {
    201: { description: "Started", content: { "application/json": { schema: Session } } },
    ...problemResponses(401, 413, 415, 422, 429),
  },
});

const endSession = createRoute({
  method: "post",
  path: "/sessions/{sessionId}/end",
  tags,
  summary: "End a session (once; endedAt ≥ startedAt)",
  request: { params: IdParam, body: { required: false, content: { "application/json": { schema: SessionEnd } } } },
  responses: {
    200: { description: "Ended", content: { "application/json": { schema: Session } } },
    ...problemResponses(401, 403, 404, 409, 413, 415, 422, 429),
  },
});

const listSessions = createRoute({
  method: "get",
  path: "/sessions",
  tags,
  summary: "Sessions by user, classroom and start-time range, newest first (the caller's own when neither is given)",
  request: {
    query: z.object({
      userId: UserId.optional(),
      classroomId: TextId.optional(),
      from: Timestamp.optional().openapi({ description: "startedAt ≥ from" }),
      to: Timestamp.optional().openapi({ description: "startedAt < to" }),
      ...PageQuery,
    }),
  },
  responses: {
    200: { description: "A page of sessions", content: { "application/json": { schema: page(Session, "SeedtestSessionPage") } } },
    ...problemResponses(401, 422, 429),
  },
});

const getSession = createRoute({
  method: "get",
  path: "/sessions/{sessionId}",
  tags,
  summary: "One session",
  request: { params: IdParam },
  responses: {
    200: { description: "The session", content: { "application/json": { schema: Session } } },
    ...problemResponses(401, 404, 429),
  },
});

const byId = (id: string) => eq(sessions.sessionId, id);

export const sessionRoutes = createRouter()
  .openapi(startSession, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const input = c.req.valid("json");
    const classroomId = input.classroomId ?? null;
    // No foreign key (the document's choice): the insert happens only if the classroom exists
    // and is visible to the caller, in the same statement.
    const insert = db
      .insert(sessions)
      .select(
        sql`select ${crypto.randomUUID()}, ${callerId(principal)}, ${classroomId}::text, coalesce(${input.startedAt ?? null}::timestamptz, now()),
                   null::timestamptz, ${input.sessionType ?? null}::text, ${input.metadata ? JSON.stringify(input.metadata) : null}::jsonb
            where ${classroomId}::text is null or exists (select 1 from seedtest.classroom c where c.classroom_id = ${classroomId}::text)`,
      )
      .returning(columns);
    const rows = classroomId
      ? (await runAs(db, principal, [classroomLock(db, classroomId, "shared"), insert] as const))[1]
      : (await runAs(db, principal, [insert] as const))[0];
    if (!rows[0]) throw fieldError("json.classroomId", `no classroom ${classroomId} that you can see`);
    return c.json(rows[0], 201);
  })
  .openapi(endSession, async (c) => {
    const { db } = c.var;
    const { sessionId } = c.req.valid("param");
    const endedAt = sql`coalesce(${c.req.valid("json")?.endedAt ?? null}::timestamptz, now())`;
    // One conditional update; the select after it names why nothing matched.
    const [ended, state] = await runAs(db, c.var.principal, [
      db
        .update(sessions)
        .set({ endedAt })
        .where(and(byId(sessionId), isNull(sessions.endedAt), sql`${endedAt} >= ${sessions.startedAt}`))
        .returning(columns),
      db.select({ startedAt: sessions.startedAt, endedAt: sessions.endedAt, beforeStart: sql<boolean>`${endedAt} < ${sessions.startedAt}` }).from(sessions).where(byId(sessionId)),
    ] as const);
    if (ended[0]) return c.json(ended[0], 200);
    const current = state[0];
    if (!current) throw notFound(`session ${sessionId}`);
    if (current.endedAt) {
      throw new ApiError(409, "session_already_ended", `session ${sessionId} already ended at ${current.endedAt.toISOString()}`, { endedAt: current.endedAt.toISOString() });
    }
    if (current.beforeStart) throw fieldError("json.endedAt", `must not be before the session's start ${current.startedAt.toISOString()}`);
    throw new ApiError(403, "forbidden", `session ${sessionId} is not yours to end`);
  })
  .openapi(listSessions, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const q = c.req.valid("query");
    checkRange(q.from, q.to);
    const after = decodeCursor(q.cursor, TimeKey);
    const userId = q.userId ?? (q.classroomId === undefined ? callerId(principal) : undefined);
    // Row-level security narrows further: a learner sees their own, a teacher their classrooms'.
    const filters: (SQL | undefined)[] = [
      userId !== undefined ? eq(sessions.userId, userId) : undefined,
      q.classroomId !== undefined ? eq(sessions.classroomId, q.classroomId) : undefined,
      q.from !== undefined ? sql`${sessions.startedAt} >= ${q.from}::timestamptz` : undefined,
      q.to !== undefined ? sql`${sessions.startedAt} < ${q.to}::timestamptz` : undefined,
      after ? sql`(${sessions.startedAt}, ${sessions.sessionId}) < (${after[0]}::timestamptz, ${after[1]})` : undefined,
    ];
    const [rows] = await runAs(db, principal, [
      db
        .select({ ...columns, key: exactTime(sessions.startedAt) })
        .from(sessions)
        .where(and(...filters))
        .orderBy(desc(sessions.startedAt), desc(sessions.sessionId))
        .limit(q.limit + 1),
    ] as const);
    const { items, nextCursor } = paginate(rows, q.limit, (r) => [r.key, r.sessionId]);
    return c.json({ items: items.map(({ key: _, ...s }) => s), nextCursor }, 200);
  })
  .openapi(getSession, async (c) => {
    const { db } = c.var;
    const { sessionId } = c.req.valid("param");
    const [rows] = await runAs(db, c.var.principal, [db.select(columns).from(sessions).where(byId(sessionId))] as const);
    if (!rows[0]) throw notFound(`session ${sessionId}`);
    return c.json(rows[0], 200);
  });
