import { z } from "@hono/zod-openapi";
import { and, eq, isNull, sql, type SQL } from "drizzle-orm";
import { runAs } from "../platform/db";
import { keyset } from "../platform/paging";
import { JsonObject } from "../platform/input";
import { ApiError, fieldError, notFound } from "../platform/problem";
import { defineRoute, json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { PageQuery, TextId, Timestamp, checkRange, pageOf, textParams } from "../platform/schemas";
import { columnsOf, insertSchema, rowSchema } from "../platform/table-schema";
import { classroomLock } from "./classroom-sql";
import { sessions } from "./schema";
import { insertSession } from "./session-sql";
import { callerId, UserId } from "./shared";

const SessionStart = insertSchema(sessions, {
  classroomId: () => TextId.openapi({ description: "A classroom the caller can see; checked when the session starts" }),
  sessionType: () => z.string().trim().min(1).max(50).openapi({ example: "practice" }),
  startedAt: () => Timestamp.openapi({ description: "Defaults to now" }),
  metadata: () => JsonObject,
})
  .pick({ classroomId: true, sessionType: true, startedAt: true, metadata: true })
  .strict()
  .openapi("SeedtestSessionStart");

const SessionEnd = z
  .object({ endedAt: Timestamp.optional().openapi({ description: "Defaults to now; must not be before startedAt" }) })
  .strict()
  .openapi("SeedtestSessionEnd");

export const Session = rowSchema(sessions, { metadata: JsonObject.nullable() }).openapi("SeedtestSession");
export const SessionPage = pageOf(Session, "SeedtestSessionPage");

const IdParam = textParams("sessionId");
const tags = ["seedtest"];

const startSession = defineRoute({
  method: "post",
  path: "/sessions",
  tags,
  summary: "Start a learning session for the caller",
  request: { body: jsonBody(SessionStart) },
  responses: { 201: json(Session, "Started") },
});

const endSession = defineRoute(
  {
    method: "post",
    path: "/sessions/{sessionId}/end",
    tags,
    summary: "End a session (once; endedAt ≥ startedAt)",
    request: { params: IdParam, body: jsonBody(SessionEnd, { required: false }) },
    responses: { 200: json(Session, "Ended") },
  },
  403,
  404,
  409,
);

const listSessions = defineRoute({
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
  responses: { 200: json(SessionPage, "A page of sessions") },
});

const getSession = defineRoute(
  {
    method: "get",
    path: "/sessions/{sessionId}",
    tags,
    summary: "One session",
    request: { params: IdParam },
    responses: { 200: json(Session, "The session") },
  },
  404,
);

const byId = (id: string) => eq(sessions.sessionId, id);
const newest = keyset([sessions.startedAt, sessions.sessionId], "desc");

export const sessionRoutes = createRouter()
  .openapi(startSession, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const input = c.req.valid("json");
    const classroomId = input.classroomId ?? null;
    const insert = insertSession(db, callerId(principal), { ...input, classroomId });
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
        .returning(),
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
    const userId = q.userId ?? (q.classroomId === undefined ? callerId(principal) : undefined);
    // Row-level security narrows further: a learner sees their own, a teacher their classrooms'.
    const filters: (SQL | undefined)[] = [
      userId !== undefined ? eq(sessions.userId, userId) : undefined,
      q.classroomId !== undefined ? eq(sessions.classroomId, q.classroomId) : undefined,
      q.from !== undefined ? sql`${sessions.startedAt} >= ${q.from}::timestamptz` : undefined,
      q.to !== undefined ? sql`${sessions.startedAt} < ${q.to}::timestamptz` : undefined,
      newest.after(q.cursor),
    ];
    const [rows] = await runAs(db, principal, [
      db
        .select({ ...columnsOf(sessions), ...newest.columns })
        .from(sessions)
        .where(and(...filters))
        .orderBy(...newest.orderBy)
        .limit(q.limit + 1),
    ] as const);
    return c.json(newest.page(rows, q.limit), 200);
  })
  .openapi(getSession, async (c) => {
    const { db } = c.var;
    const { sessionId } = c.req.valid("param");
    const [rows] = await runAs(db, c.var.principal, [db.select().from(sessions).where(byId(sessionId))] as const);
    if (!rows[0]) throw notFound(`session ${sessionId}`);
    return c.json(rows[0], 200);
  });
