import { z } from "@hono/zod-openapi";
import { and, eq, ne, sql } from "drizzle-orm";
import { JsonObject, patchBody } from "../platform/input";
import { keyset } from "../platform/paging";
import { ApiError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { pageOf, PageQuery, uuidParams } from "../platform/schemas";
import { columnsOf, rowSchema } from "../platform/table-schema";
import { factoryRoute, runFactory } from "./access";
import { chatSessions, intentLogs } from "./schema";

/**
 * §8.1 chat sessions and §8.3 intent feedback. A session is its user's alone: every statement
 * names the caller as user_id, besides the tenant that row-level security enforces. DELETE
 * marks a session `deleted` (§8.1's status): it is gone from every route, its rows stay for
 * the retention job (docs/factory-chat.md).
 */

const JsonMap = z.record(z.string(), z.unknown());
export const ChatSession = rowSchema(chatSessions, { context: JsonMap.openapi({ description: "What the assistant keeps between turns: last_intent, last_slots" }) }).openapi("FactoryChatSession");
export const IntentLog = rowSchema(intentLogs, {
  extractedSlots: JsonMap.nullable().openapi({ description: "§8.3: line_code, date_range {start, end}, kpi, threshold; additions value, workflow, rule" }),
}).openapi("FactoryIntentLog");
const SessionPage = pageOf(ChatSession, "FactoryChatSessionPage");
const wire = <T>(row: T) => row as unknown as z.infer<typeof ChatSession>;

const Title = z.string().trim().min(1).max(200);
const SessionInput = z.object({ title: Title.optional().openapi({ description: "Default 'New Chat'" }), context: JsonObject.optional() }).strict().openapi("FactoryChatSessionInput");
const SessionPatch = patchBody(z.object({ title: Title, status: z.enum(["active", "archived"]).openapi({ description: "archived: kept and readable, takes no messages" }) }).partial().strict()).openapi("FactoryChatSessionPatch");
const FeedbackInput = z
  .object({ feedbackScore: z.int().min(1).max(5).openapi({ description: "§8.3: 1 (wrong) to 5 (exactly right)" }), feedbackComment: z.string().trim().min(1).max(2000).optional() })
  .strict()
  .openapi("FactoryIntentFeedbackInput");

const tags = ["factory chat"];
const IdParam = uuidParams("id");

const create = factoryRoute({
  method: "post",
  path: "/chat/sessions",
  tags,
  permission: "chat:create",
  summary: "Open a chat session (§8.1)",
  request: { body: jsonBody(SessionInput, { required: false }) },
  responses: { 201: json(ChatSession, "Opened") },
});
const list = factoryRoute({
  method: "get",
  path: "/chat/sessions",
  tags,
  permission: "chat:read",
  summary: "The caller's chat sessions, most recently active first",
  request: { query: z.object({ status: z.enum(["active", "archived"]).optional(), ...PageQuery }) },
  responses: { 200: json(SessionPage, "A page of sessions") },
});
const getOne = factoryRoute(
  { method: "get", path: "/chat/sessions/{id}", tags, permission: "chat:read", summary: "One of the caller's chat sessions", request: { params: IdParam }, responses: { 200: json(ChatSession, "The session") } },
  404,
);
const update = factoryRoute(
  {
    method: "patch",
    path: "/chat/sessions/{id}",
    tags,
    permission: "chat:update",
    summary: "Rename, archive or reopen a chat session",
    request: { params: IdParam, body: jsonBody(SessionPatch) },
    responses: { 200: json(ChatSession, "Changed") },
  },
  404,
);
const remove = factoryRoute(
  { method: "delete", path: "/chat/sessions/{id}", tags, permission: "chat:delete", summary: "Delete a chat session (status deleted: gone from every route)", request: { params: IdParam }, responses: { 204: { description: "Deleted" } } },
  404,
);
const feedback = factoryRoute(
  {
    method: "post",
    path: "/chat/intents/{id}/feedback",
    tags,
    permission: "chat:update",
    summary: "Score how well a message was understood (§8.3 feedback_score 1–5)",
    description: "Only the user who wrote the message scores it; a new score replaces the last.",
    request: { params: IdParam, body: jsonBody(FeedbackInput) },
    responses: { 200: json(IntentLog, "Scored") },
  },
  404,
);

const recent = keyset([chatSessions.updatedAt, chatSessions.id], "desc");
const callerId = (c: { var: { principal: { userId: string } | null } }) => c.var.principal!.userId;
/** The caller's session, unless deleted. */
const own = (id: string, userId: string) => and(eq(chatSessions.id, id), eq(chatSessions.userId, userId), ne(chatSessions.status, "deleted"));

export const chatSessionRoutes = createRouter()
  .openapi(create, async (c) => {
    const input = c.req.valid("json");
    const { db } = c.var;
    const [rows] = await runFactory(c, create, [
      db.insert(chatSessions).values({ tenantId: sql`factory.caller_tenant()`, userId: callerId(c), title: input.title, context: input.context ?? {} }).returning(),
    ] as const);
    return c.json(wire(rows[0]!), 201);
  })
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const { db } = c.var;
    const s = chatSessions;
    const [rows] = await runFactory(c, list, [
      db
        .select({ ...columnsOf(s), ...recent.columns })
        .from(s)
        .where(and(eq(s.userId, callerId(c)), q.status ? eq(s.status, q.status) : ne(s.status, "deleted"), recent.after(q.cursor)))
        .orderBy(...recent.orderBy)
        .limit(q.limit + 1),
    ] as const);
    const page = recent.page(rows, q.limit);
    return c.json({ items: page.items.map(wire), nextCursor: page.nextCursor }, 200);
  })
  .openapi(getOne, async (c) => {
    const { id } = c.req.valid("param");
    const { db } = c.var;
    const [rows] = await runFactory(c, getOne, [db.select().from(chatSessions).where(own(id, callerId(c)))] as const);
    if (!rows[0]) throw notFound(`chat session ${id}`);
    return c.json(wire(rows[0]), 200);
  })
  .openapi(update, async (c) => {
    const { id } = c.req.valid("param");
    const patch = c.req.valid("json");
    const { db } = c.var;
    const [rows] = await runFactory(c, update, [db.update(chatSessions).set({ title: patch.title, status: patch.status }).where(own(id, callerId(c))).returning()] as const);
    if (!rows[0]) throw notFound(`chat session ${id}`);
    return c.json(wire(rows[0]), 200);
  })
  .openapi(remove, async (c) => {
    const { id } = c.req.valid("param");
    const { db } = c.var;
    const [rows] = await runFactory(c, remove, [db.update(chatSessions).set({ status: "deleted" }).where(own(id, callerId(c))).returning({ id: chatSessions.id })] as const);
    if (!rows[0]) throw notFound(`chat session ${id}`);
    return c.body(null, 204);
  })
  .openapi(feedback, async (c) => {
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    const { db } = c.var;
    const [rows] = await runFactory(c, feedback, [
      db
        .update(intentLogs)
        .set({ feedbackScore: input.feedbackScore, feedbackComment: input.feedbackComment ?? null })
        .where(and(eq(intentLogs.id, id), eq(intentLogs.userId, callerId(c))))
        .returning(),
    ] as const);
    if (!rows[0]) throw new ApiError(404, "not_found", `intent ${id} was not found among the caller's messages`);
    return c.json(rows[0] as unknown as z.infer<typeof IntentLog>, 200);
  });
