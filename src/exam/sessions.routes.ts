import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { runAs } from "../platform/db";
import { keyset } from "../platform/paging";
import { ApiError, notFound } from "../platform/problem";
import { relayAfterResponse } from "../platform/relay";
import { createRouter } from "../platform/router";
import { defineRoute, json, jsonBody } from "../platform/route";
import { PageQuery, pageOf, uuidParams } from "../platform/schemas";
import { columnsOf, insertSchema, rowSchema } from "../platform/table-schema";
import { requireRole } from "../platform/auth";
import { refused, STAFF_ROLES } from "./access";
import { SESSION_STATUSES, sessions } from "./schema";
import { ENGINE_FOR_LEVEL, TRANSITIONS, type TransitionName } from "./session-machine";
import { EVENTS, transitionStatements } from "./session-sql";

const SessionInput = insertSchema(sessions, {
  engineType: (s) => s.openapi({ description: "Must fit the level: BLOCK for FUTURE/JUNIOR, GUI for BASIC, JUPYTER for ASSOCIATE/PROFESSIONAL" }),
})
  .pick({ labId: true, level: true, engineType: true, policyId: true, mode: true })
  .strict()
  .openapi("LabSessionInput");

export const Session = rowSchema(sessions).openapi("LabSession");
export const SessionPage = pageOf(Session, "LabSessionPage");

const createSession = defineRoute({
  method: "post",
  path: "/sessions",
  tags: ["exam"],
  summary: "Create a lab session (CREATED)",
  request: { body: jsonBody(SessionInput) },
  responses: { 201: json(Session, "Created") },
});

const listSessions = defineRoute(
  {
    method: "get",
    path: "/sessions",
    tags: ["exam"],
    summary: "Lab sessions, newest first: the caller's, or (reviewer, proctor, admin) another user's",
    request: {
      query: z.object({
        userId: z.uuid().optional().openapi({ description: "Whose sessions; default the caller. Others' need a staff role." }),
        status: z.enum(SESSION_STATUSES).optional(),
        ...PageQuery,
      }),
    },
    responses: { 200: json(SessionPage, "Sessions, a page at a time (keyset on idx_sessions_user_created)") },
  },
  403,
);

const getSession = defineRoute(
  {
    method: "get",
    path: "/sessions/{id}",
    tags: ["exam"],
    summary: "One lab session (the owner's, or any for reviewer, proctor, admin)",
    request: { params: uuidParams("id") },
    responses: { 200: json(Session, "The session") },
  },
  404,
);

const transitionRoute = (name: TransitionName, summary: string) =>
  defineRoute(
    {
      method: "post",
      path: `/sessions/{id}/${name}`,
      tags: ["exam"],
      summary,
      request: { params: uuidParams("id") },
      responses: { 200: json(Session, "The session after the move") },
    },
    403,
    404,
    409,
  );

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
        .returning(),
    ] as const);
    return c.json(rows[0]!, 201);
  })
  .openapi(listSessions, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const { userId = principal.userId, status, limit, cursor } = c.req.valid("query");
    if (userId !== principal.userId) requireRole(principal, STAFF_ROLES, "list another user's sessions");
    // idx_sessions_user_created serves the range: newest first, id breaks ties.
    const k = keyset([sessions.createdAt, sessions.id]);
    const [rows] = await runAs(db, principal, [
      db
        .select({ ...columnsOf(sessions), ...k.columns })
        .from(sessions)
        .where(and(eq(sessions.userId, userId), status ? eq(sessions.status, status) : undefined, k.after(cursor)))
        .orderBy(...k.orderBy)
        .limit(limit + 1),
    ] as const);
    return c.json(k.page(rows, limit), 200);
  })
  .openapi(getSession, async (c) => {
    const { db } = c.var;
    const [rows] = await runAs(db, c.var.principal, [db.select().from(sessions).where(eq(sessions.id, c.req.valid("param").id))] as const);
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
