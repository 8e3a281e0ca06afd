import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { runAs } from "../platform/db";
import { JsonObject } from "../platform/input";
import { keyset } from "../platform/paging";
import { ApiError, fieldError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { pageOf, PageQuery, uuidParams } from "../platform/schemas";
import { columnsOf, rowSchema } from "../platform/table-schema";
import { agentRoute, callerOrg, notProvisioned, requireAgentRole, WRITERS } from "./access";
import { Language } from "./fields";
import { readSession, stateOf, writeSession } from "./session-cache";
import { completeSession, DEFAULT_SESSION_SECONDS, insertSession, MAX_CONTEXT_BYTES, mergeContext, sessionState } from "./session-sql";
import { SESSION_STATUSES, sessions } from "./schema";

export const Session = rowSchema(sessions, { currentContext: JsonObject.nullable() }).openapi("AgentSession");
const SessionPage = pageOf(Session, "AgentSessionPage");
/** §8.1's fields: what GET /sessions/{id} answers, from the Redis hash or from Postgres alike. */
const SessionStateSchema = z
  .object({ id: z.uuid(), userId: z.uuid(), status: z.enum(SESSION_STATUSES), language: z.string().nullable(), currentContext: z.record(z.string(), z.unknown()), createdAt: z.iso.datetime() })
  .openapi("AgentSessionState");

const SessionInput = z
  .object({
    initialInput: z.string().max(100_000).optional(),
    language: Language.optional().openapi({ description: "Defaults to KOR" }),
    expiresInSeconds: z.int().min(60).max(30 * DEFAULT_SESSION_SECONDS).default(DEFAULT_SESSION_SECONDS).openapi({ description: "expires_at = now + this; default 24 h" }),
  })
  .strict()
  .openapi("AgentSessionInput");
const ContextPatch = JsonObject.refine((o) => Object.keys(o).length > 0, "must name at least one key to merge").openapi("AgentContextPatch", {
  description: "Top-level keys replace the context's keys of the same name; the rest stay",
});

const tags = ["agent"];
const IdParam = uuidParams("id");

const createSession = agentRoute(
  {
    method: "post",
    path: "/sessions",
    tags,
    summary: "Start a session for the caller (not viewers)",
    request: { body: jsonBody(SessionInput, { required: false }) },
    responses: { 201: json(Session, "Started") },
  },
  403,
  409,
);
const listSessions = agentRoute({
  method: "get",
  path: "/sessions",
  tags,
  summary: "The caller's own sessions, newest first, optionally of one status",
  request: { query: z.object({ status: z.enum(SESSION_STATUSES).optional(), ...PageQuery }) },
  responses: { 200: json(SessionPage, "A page of sessions") },
});
const getSession = agentRoute(
  {
    method: "get",
    path: "/sessions/{id}",
    tags,
    summary: "A session's state (§8.1), served from its Redis hash when cached",
    request: { params: IdParam },
    responses: { 200: json(SessionStateSchema, "The session's state") },
  },
  404,
);
const mergeSessionContext = agentRoute(
  {
    method: "patch",
    path: "/sessions/{id}/context",
    tags,
    summary: "Merge keys into an active session's current_context (its owner)",
    request: { params: IdParam, body: jsonBody(ContextPatch) },
    responses: { 200: json(Session, "Merged") },
  },
  403,
  404,
  409,
);
const complete = agentRoute(
  {
    method: "post",
    path: "/sessions/{id}/complete",
    tags,
    summary: "Complete an active session (its owner)",
    request: { params: IdParam },
    responses: { 200: json(Session, "Completed") },
  },
  403,
  404,
  409,
);

/** Why a session write matched nothing: not visible, someone else's, or no longer active. */
function refused(id: string, userId: string, current: { userId: string | null; status: string } | undefined, action: string): ApiError {
  if (!current) return notFound(`session ${id}`);
  if (current.userId !== userId) return new ApiError(403, "not_session_owner", `only the session's owner may ${action} it`);
  return new ApiError(409, "invalid_state", `cannot ${action} session ${id}: it is ${current.status}`, { currentStatus: current.status });
}

const newest = keyset([sessions.createdAt, sessions.id], "desc");

export const sessionRoutes = createRouter()
  .openapi(createSession, async (c) => {
    const { db, redis, config } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, WRITERS, "start a session");
    const orgId = callerOrg(principal);
    if (!orgId) throw notProvisioned(principal);
    const input = c.req.valid("json") ?? {};
    const [rows] = await runAs(db, principal, [insertSession(db, principal.userId, orgId, input)] as const);
    const row = rows[0];
    if (!row) throw notProvisioned(principal);
    await writeSession(redis, config, stateOf(row));
    return c.json(row, 201);
  })
  .openapi(listSessions, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const q = c.req.valid("query");
    const [rows] = await runAs(db, principal, [
      db
        .select({ ...columnsOf(sessions), ...newest.columns })
        .from(sessions)
        .where(and(eq(sessions.userId, principal.userId), q.status ? eq(sessions.status, q.status) : undefined, newest.after(q.cursor)))
        .orderBy(...newest.orderBy)
        .limit(q.limit + 1),
    ] as const);
    return c.json(newest.page(rows, q.limit), 200);
  })
  .openapi(getSession, async (c) => {
    const { db, redis, config } = c.var;
    const principal = c.var.principal!;
    const { id } = c.req.valid("param");
    // A hit serves the owner without Postgres; anyone else is answered by row-level security.
    const cached = await readSession(redis, config, id);
    if (cached && cached.userId === principal.userId) return c.json({ ...cached, status: cached.status as (typeof SESSION_STATUSES)[number] }, 200);
    const [rows] = await runAs(db, principal, [db.select(columnsOf(sessions)).from(sessions).where(eq(sessions.id, id))] as const);
    if (!rows[0]) throw notFound(`session ${id}`);
    const state = stateOf(rows[0]);
    await writeSession(redis, config, state);
    return c.json({ ...state, status: rows[0].status }, 200);
  })
  .openapi(mergeSessionContext, async (c) => {
    const { db, redis, config } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, WRITERS, "change a session");
    const { id } = c.req.valid("param");
    const patch = c.req.valid("json");
    const [rows, state] = await runAs(db, principal, [mergeContext(db, id, patch), sessionState(db, id, patch)] as const);
    const row = rows[0];
    if (!row) {
      const current = state[0];
      if (current && current.userId === principal.userId && current.status === "active" && current.tooLarge) {
        throw fieldError("json", `the merged context would exceed ${MAX_CONTEXT_BYTES} bytes as JSON`);
      }
      throw refused(id, principal.userId, current, "change");
    }
    await writeSession(redis, config, stateOf(row));
    return c.json(row, 200);
  })
  .openapi(complete, async (c) => {
    const { db, redis, config } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, WRITERS, "complete a session");
    const { id } = c.req.valid("param");
    const [rows, state] = await runAs(db, principal, [completeSession(db, id), sessionState(db, id)] as const);
    const row = rows[0];
    if (!row) throw refused(id, principal.userId, state[0], "complete");
    await writeSession(redis, config, stateOf(row));
    return c.json(row, 200);
  });
