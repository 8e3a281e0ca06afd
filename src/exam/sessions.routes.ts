import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, inArray, sql, type SQL } from "drizzle-orm";
import { hasRole, type Principal } from "../platform/auth";
import { runAs, type Database } from "../platform/db";
import { problemResponses } from "../platform/openapi";
import { ApiError, notFound } from "../platform/problem";
import { createRouter } from "../platform/router";
import { outboxFrom, type EventFrom } from "./outbox-from";
import { ENGINE_FOR_LEVEL, STAFF_ROLES, TRANSITIONS, type TransitionName } from "./session-machine";
import { ENGINE_TYPES, LEVELS, SESSION_MODES, SESSION_STATUSES, sessions } from "./schema";
import { relayAfterResponse } from "../platform/relay";
import { CursorParam, decodeCursor, exactTime, ExactTimeKey, Limit, paginate } from "../platform/paging";

export const SessionId = z.object({ id: z.uuid().openapi({ param: { name: "id", in: "path" } }) });

const SessionInput = z
  .object({
    labId: z.uuid(),
    level: z.enum(LEVELS),
    engineType: z.enum(ENGINE_TYPES).openapi({ description: "Must fit the level: BLOCK for FUTURE/JUNIOR, GUI for BASIC, JUPYTER for ASSOCIATE/PROFESSIONAL" }),
    policyId: z.uuid(),
    mode: z.enum(SESSION_MODES),
  })
  .strict()
  .openapi("LabSessionInput");

const Session = SessionInput.extend({
  id: z.uuid(),
  userId: z.uuid(),
  status: z.enum(SESSION_STATUSES),
  startedAt: z.iso.datetime().nullable(),
  endedAt: z.iso.datetime().nullable(),
  finalScore: z.number().int().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
}).openapi("LabSession");

const sessionColumns = {
  id: sessions.id,
  userId: sessions.userId,
  labId: sessions.labId,
  level: sessions.level,
  engineType: sessions.engineType,
  policyId: sessions.policyId,
  mode: sessions.mode,
  status: sessions.status,
  startedAt: sessions.startedAt,
  endedAt: sessions.endedAt,
  finalScore: sessions.finalScore,
  createdAt: sessions.createdAt,
  updatedAt: sessions.updatedAt,
};

/** 404 when the caller cannot see the session, else 409 naming the state that refused `action`. */
export function refused(current: { status: string } | undefined, action: string): ApiError {
  if (!current) return notFound("the session");
  return new ApiError(409, "invalid_state", `cannot ${action}: the session is ${current.status}`, { currentStatus: current.status });
}

const createSession = createRoute({
  method: "post",
  path: "/sessions",
  tags: ["exam"],
  summary: "Create a lab session (CREATED)",
  request: { body: { required: true, content: { "application/json": { schema: SessionInput } } } },
  responses: {
    201: { description: "Created", content: { "application/json": { schema: Session } } },
    ...problemResponses(401, 413, 415, 422, 429),
  },
});

/** Keyset position of GET /sessions: the last row's created_at (microseconds) and id. */
const PageKey = z.object({ t: ExactTimeKey, i: z.uuid() }).strict();

const listSessions = createRoute({
  method: "get",
  path: "/sessions",
  tags: ["exam"],
  summary: "Lab sessions, newest first: the caller's, or (reviewer, proctor, admin) another user's",
  request: {
    query: z.object({
      userId: z.uuid().optional().openapi({ description: "Whose sessions; default the caller. Others' need a staff role." }),
      status: z.enum(SESSION_STATUSES).optional(),
      limit: Limit,
      cursor: CursorParam,
    }),
  },
  responses: {
    200: {
      description: "Sessions, a page at a time (keyset on idx_sessions_user_created)",
      content: { "application/json": { schema: z.object({ items: z.array(Session), nextCursor: z.string().nullable() }) } },
    },
    ...problemResponses(401, 403, 422, 429),
  },
});

const getSession = createRoute({
  method: "get",
  path: "/sessions/{id}",
  tags: ["exam"],
  summary: "One lab session (the owner's, or any for reviewer, proctor, admin)",
  request: { params: SessionId },
  responses: {
    200: { description: "The session", content: { "application/json": { schema: Session } } },
    ...problemResponses(401, 404, 422, 429),
  },
});

/** Extra columns a transition sets besides status and updated_at. */
const SETS: Partial<Record<TransitionName, Partial<Record<keyof typeof sessions.$inferInsert, SQL>>>> = {
  start: { startedAt: sql`now()` },
  // Mean over the submitted steps of each step's best score, 0..100; 0 when nothing was submitted.
  submit: {
    endedAt: sql`now()`,
    finalScore: sql`(select coalesce(round(avg(b.best)), 0)::int from (select max(ss.score) as best from exam.step_submissions ss where ss.session_id = ${sessions.id} group by ss.step_no) b)`,
  },
  "force-close": { endedAt: sql`now()` },
};

/** Events a transition emits; columns are the moved row's (the CTE `moved`). */
const EVENTS: Partial<Record<TransitionName, (actorId: string) => EventFrom>> = {
  start: (actorId) => ({
    eventType: "SESSION_STARTED",
    actorId,
    entityId: sql`moved.id::text`,
    payload: sql`jsonb_build_object('sessionId', moved.id, 'labId', moved.lab_id, 'level', moved.level, 'engineType', moved.engine_type, 'mode', moved.mode)`,
  }),
  submit: (actorId) => ({
    eventType: "SESSION_FINAL_SUBMITTED",
    actorId,
    entityId: sql`moved.id::text`,
    payload: sql`jsonb_build_object('sessionId', moved.id, 'labId', moved.lab_id, 'finalScore', moved.final_score, 'mode', moved.mode, 'level', moved.level)`,
  }),
};

/**
 * One transition as one conditional UPDATE (with its event, when it has one, in the same
 * statement), then the session as it now is: moved → 200 with it; not moved → 409 naming the
 * state, or 404 when the caller cannot see it. Row locks make concurrent moves queue: the
 * second re-checks the status the first wrote and matches nothing.
 */
function transitionStatements(db: Database, principal: Principal, name: TransitionName, id: string) {
  const t = TRANSITIONS[name];
  const privileged = hasRole(principal, ...t.actor.roles);
  if (!t.actor.owner && !privileged) {
    throw new ApiError(403, "forbidden", `only a ${t.actor.roles.join(" or ")} may ${name} a session`);
  }
  // Owners act on their own sessions only; staff reach others' through the 0004 policies.
  const scope = and(eq(sessions.id, id), privileged ? undefined : eq(sessions.userId, principal.userId));
  const update = db
    .update(sessions)
    .set({ status: t.to, updatedAt: sql`now()`, ...SETS[name] })
    .where(and(scope, inArray(sessions.status, [...t.from])))
    .returning({
      id: sessions.id,
      labId: sessions.labId,
      level: sessions.level,
      engineType: sessions.engineType,
      mode: sessions.mode,
      finalScore: sessions.finalScore,
    });
  const event = EVENTS[name]?.(principal.userId);
  const move = event
    ? db.execute<{ id: string }>(sql`with moved as (${update.getSQL()}), event as (${outboxFrom(sql`moved`, event)}) select id from moved`)
    : db.execute<{ id: string }>(sql`with moved as (${update.getSQL()}) select id from moved`);
  return [move, db.select(sessionColumns).from(sessions).where(scope)] as const;
}

const transitionRoute = (name: TransitionName, summary: string) =>
  createRoute({
    method: "post",
    path: `/sessions/{id}/${name}`,
    tags: ["exam"],
    summary,
    request: { params: SessionId },
    responses: {
      200: { description: "The session after the move", content: { "application/json": { schema: Session } } },
      ...problemResponses(401, 403, 404, 409, 422, 429),
    },
  });

const SUMMARIES: Record<TransitionName, string> = {
  start: "CREATED → RUNNING (owner); emits SESSION_STARTED",
  pause: "RUNNING → PAUSED (owner)",
  resume: "PAUSED → RUNNING (owner)",
  submit: "RUNNING → SUBMITTED (owner); final score from the best attempt per step; emits SESSION_FINAL_SUBMITTED",
  review: "SUBMITTED → REVIEWED (reviewer, admin)",
  close: "REVIEWED → CLOSED (owner, reviewer, admin)",
  "force-close": "CREATED/RUNNING/PAUSED/SUBMITTED → FORCE_CLOSED (proctor, admin)",
};

const router = createRouter()
  .openapi(createSession, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const input = c.req.valid("json");
    const engine = ENGINE_FOR_LEVEL[input.level];
    if (input.engineType !== engine) {
      throw new ApiError(422, "engine_level_mismatch", `level ${input.level} is examined with the ${engine} engine, not ${input.engineType}`, {
        errors: [{ path: "json.engineType", message: `must be ${engine} for level ${input.level}` }],
      });
    }
    const [rows] = await runAs(db, principal, [
      db
        .insert(sessions)
        .values({ id: crypto.randomUUID(), userId: principal.userId, ...input, status: "CREATED" })
        .returning(sessionColumns),
    ] as const);
    return c.json(rows[0]!, 201);
  })
  .openapi(listSessions, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const { userId = principal.userId, status, limit, cursor } = c.req.valid("query");
    const after = decodeCursor(cursor, PageKey);
    if (userId !== principal.userId && !hasRole(principal, ...STAFF_ROLES)) {
      throw new ApiError(403, "forbidden", "only a reviewer, proctor or admin may list another user's sessions");
    }
    const [rows] = await runAs(db, principal, [
      db
        .select({ ...sessionColumns, position: exactTime(sessions.createdAt) })
        .from(sessions)
        .where(
          and(
            eq(sessions.userId, userId),
            status ? eq(sessions.status, status) : undefined,
            after ? sql`(${sessions.createdAt}, ${sessions.id}) < (${after.t}::timestamptz, ${after.i}::uuid)` : undefined,
          ),
        )
        .orderBy(desc(sessions.createdAt), desc(sessions.id))
        // One row more than the page tells whether another page follows.
        .limit(limit + 1),
    ] as const);
    const { items, nextCursor } = paginate(rows, limit, (last) => ({ t: last.position, i: last.id }));
    return c.json({ items: items.map(({ position: _position, ...session }) => session), nextCursor }, 200);
  })
  .openapi(getSession, async (c) => {
    const { db } = c.var;
    const [rows] = await runAs(db, c.var.principal, [
      db.select(sessionColumns).from(sessions).where(eq(sessions.id, c.req.valid("param").id)),
    ] as const);
    if (!rows[0]) throw notFound("the session");
    return c.json(rows[0], 200);
  });

for (const name of Object.keys(TRANSITIONS) as TransitionName[]) {
  router.openapi(transitionRoute(name, SUMMARIES[name]), async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const { id } = c.req.valid("param");
    const [moved, current] = await runAs(db, principal, transitionStatements(db, principal, name, id));
    if (!moved.rows.length || !current[0]) throw refused(current[0], name);
    if (EVENTS[name]) relayAfterResponse(c);
    return c.json(current[0], 200);
  });
}

export const sessionRoutes = router;
