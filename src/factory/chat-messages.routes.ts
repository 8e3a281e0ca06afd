import { z } from "@hono/zod-openapi";
import { and, asc, desc, eq, ne, sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { keyset } from "../platform/paging";
import { ApiError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { pageOf, PageQuery, uuidParams } from "../platform/schemas";
import { columnsOf, rowSchema } from "../platform/table-schema";
import { requestOrigin } from "../platform/request-origin";
import { factoryRoute, runFactory } from "./access";
import { tenantZone } from "./chat-dates";
import { classifyByLlm, type LlmClassification } from "./chat-intent-llm";
import { classifyByRules, type Classification } from "./chat-intents";
import { judgmentFromChat, type ActiveRuleset } from "./chat-judgment";
import { criticalJudgments, explainRule, fixedReply, help, kpiSummary, type Reply } from "./chat-replies";
import { ChatSession, IntentLog } from "./chat-sessions.routes";
import { sseResponse, turnEvents } from "./chat-stream";
import { turnStatements } from "./chat-turn";
import { lookupServes, namedWorkflow, workflowFromChat, type WorkflowLookup } from "./chat-workflow";
import { chatMessages, chatSessions, rulesets } from "./schema";

const JsonMap = z.record(z.string(), z.unknown());
export const ChatMessage = rowSchema(chatMessages, {
  metadata: JsonMap.openapi({ description: "assistant: intent_log_id, classified_by, action {type, …}, data (what the answer was made from), period; llm when the LLM was asked" }),
}).openapi("FactoryChatMessage");
const MessagePage = pageOf(ChatMessage, "FactoryChatMessagePage");
export const ChatTurn = z
  .object({
    session: ChatSession,
    intent: IntentLog,
    userMessage: ChatMessage,
    assistantMessage: ChatMessage,
  })
  .openapi("FactoryChatTurn");

const MessageInput = z
  .object({
    sessionId: z.uuid(),
    content: z.string().trim().min(1).max(4000),
    stream: z.boolean().default(false).openapi({ description: "true: answer as server-sent events (text/event-stream): intent, action, delta…, done" }),
  })
  .strict()
  .openapi("FactoryChatMessageInput");

const tags = ["factory chat"];

const send = factoryRoute(
  {
    method: "post",
    path: "/chat/messages",
    tags,
    permission: "chat:create",
    summary: "Send a message: classified into an intent (§8.3), acted on, answered (§8.2)",
    description:
      "The intent comes from the configured LLM, else from rules (Korean and English). The assistant acts on it (KPI summary, critical judgments, a judgment run — which also needs judgment:execute —, a rule explained, a workflow started — which also needs workflow:execute) and says what it did.",
    request: { body: jsonBody(MessageInput) },
    responses: {
      201: {
        description: "The turn as stored; with stream: true, the same as server-sent events",
        content: { "application/json": { schema: ChatTurn }, "text/event-stream": { schema: z.string() } },
      },
    },
  },
  404,
  409,
);
const listMessages = factoryRoute(
  {
    method: "get",
    path: "/chat/sessions/{id}/messages",
    tags,
    permission: "chat:read",
    summary: "A session's messages, oldest first",
    request: { params: uuidParams("id"), query: z.object(PageQuery) },
    responses: { 200: json(MessagePage, "A page of messages") },
  },
  404,
);

const oldest = keyset([chatMessages.createdAt, chatMessages.id], "asc");

interface TurnContext {
  status: string;
  settings: unknown;
  today: string;
  zone: string;
  rulesets: ActiveRuleset[];
  /** run_workflow: the workflow named, read for the reading given to readContext. */
  workflow?: WorkflowLookup;
}

/**
 * The first read, when the turn needs one before it acts: the session, the tenant's settings and
 * today in its zone, its active rulesets; and for a run_workflow reading, the workflow it names.
 */
async function readContext(c: Context<AppEnv>, sessionId: string, workflowAsked: Classification | null): Promise<TurnContext> {
  const { db } = c.var;
  const userId = c.var.principal!.userId;
  const reads = [
    db
      .select({
        status: chatSessions.status,
        settings: sql<unknown>`(select t.settings from factory.tenants t where t.id = factory.caller_tenant())`,
        today: sql<string>`(select to_char((now() at time zone z.tz)::date, 'YYYY-MM-DD') from (${tenantZone}) z)`,
        zone: sql<string>`(select z.tz from (${tenantZone}) z)`,
      })
      .from(chatSessions)
      .where(and(eq(chatSessions.id, sessionId), eq(chatSessions.userId, userId), ne(chatSessions.status, "deleted"))),
    db.select({ id: rulesets.id, name: rulesets.name, targetKpi: rulesets.targetKpi }).from(rulesets).where(eq(rulesets.isActive, true)).orderBy(asc(rulesets.priority), desc(rulesets.updatedAt)).limit(100),
  ] as const;
  const [sessions, active, named] = workflowAsked ? await runFactory(c, send, [...reads, namedWorkflow(db, workflowAsked)] as const) : [...(await runFactory(c, send, reads)), null];
  const session = sessions[0];
  if (!session) throw notFound(`chat session ${sessionId}`);
  if (session.status !== "active") throw archived(sessionId);
  const workflow = workflowAsked && named ? { for: workflowAsked, found: named.rows[0] ?? null } : undefined;
  return { ...session, rulesets: active, workflow };
}

/** The workflow a reading names when the first read was made for another reading (the LLM's differs from the rules'): one more read. */
async function lookUpWorkflow(c: Context<AppEnv>, cl: Classification): Promise<WorkflowLookup> {
  const [named] = await runFactory(c, send, [namedWorkflow(c.var.db, cl)] as const);
  return { for: cl, found: named.rows[0] ?? null };
}

/** A run_workflow reading that names a workflow: it is looked up before the chat acts. */
const namesWorkflow = (cl: Classification) => cl.intent === "run_workflow" && Boolean(cl.slots.workflow);

const archived = (id: string) => new ApiError(409, "session_archived", `chat session ${id} is archived: reopen it (PATCH status active) to send messages`);

/** What the assistant does for the intent (chat-replies.ts, chat-judgment.ts, chat-workflow.ts). */
async function act(c: Context<AppEnv>, cl: Classification, context: TurnContext | null, ids: { session: string; intent: string }): Promise<Reply> {
  const ko = cl.lang === "ko";
  switch (cl.intent) {
    case "query_defect_rate":
    case "check_oee":
    case "query_kpi":
      return kpiSummary(cl);
    case "list_critical_judgments":
      return criticalJudgments(cl);
    case "explain_rule":
      return cl.slots.rule ? explainRule(cl) : fixedReply("explain_rule", ko ? "어떤 룰셋을 설명할까요? 이름을 알려 주세요." : "Which ruleset should I explain? Tell me its name.", { status: "needs_rule" });
    case "run_workflow":
      return cl.slots.workflow ? workflowFromChat(c, cl, context!.workflow!, ids) : fixedReply("run_workflow", ko ? "어떤 워크플로우를 실행할까요? 이름을 알려 주세요." : "Which workflow should I run? Tell me its name.", { status: "needs_workflow" });
    case "run_judgment":
      return judgmentFromChat(c, cl, context!.rulesets);
    case "unknown":
      return help(cl);
  }
}

/**
 * POST /chat/messages. Round trips: one when the LLM is not configured and the intent is
 * answered from data (the whole turn is one statement); a judgment run adds the first read and
 * the judgment's own; a workflow named adds the first read (the workflow, the caller's
 * workflow:execute, the input its slots make) and, when it can start, the execute route's batch;
 * with an LLM, the first read comes before the LLM call (its endpoint is the tenant's setting,
 * and a missing or archived session must not cost an LLM call), then the turn. Table:
 * docs/factory-chat.md.
 */
async function sendMessage(c: Context<AppEnv>, input: z.infer<typeof MessageInput>): Promise<Response> {
  const { db, config } = c.var;
  const userId = c.var.principal!.userId;
  const rules = classifyByRules(input.content);
  const useLlm = Boolean(config.FACTORY_LLM_BASE_URL);
  const firstRead = useLlm || rules.intent === "run_judgment" || namesWorkflow(rules);
  let context: TurnContext | null = firstRead ? await readContext(c, input.sessionId, namesWorkflow(rules) ? rules : null) : null;
  let llm: LlmClassification | null = null;
  if (useLlm) llm = await classifyByLlm(input.content, { today: context!.today, zone: context!.zone, settings: context!.settings, config, lang: rules.lang });
  const classification = llm?.classification ?? rules;
  if (classification.intent === "run_judgment" && !context) context = await readContext(c, input.sessionId, null);
  if (namesWorkflow(classification) && !lookupServes(context!.workflow, classification)) context = { ...context!, workflow: await lookUpWorkflow(c, classification) };
  const ids = { intent: crypto.randomUUID(), user: crypto.randomUUID(), assistant: crypto.randomUUID() };
  const reply = await act(c, classification, context, { session: input.sessionId, intent: ids.intent });
  const llmMeta = llm ? { llm: { status: llm.metadata?.status ?? "not_called", model: llm.metadata?.model ?? null, calls: llm.calls.length, fell_back: llm.fellBack } } : {};
  const statements = turnStatements(db, { sessionId: input.sessionId, userId, content: input.content, classification, reply, metadata: llmMeta, ids }, llm ? { calls: llm.calls, traceId: requestOrigin(c).traceId } : null);
  const [, sessions, messages, intents] = await runFactory(c, send, statements);
  const session = sessions[0];
  if (!session || session.status === "deleted") throw notFound(`chat session ${input.sessionId}`);
  if (messages.length !== 2 || !intents[0]) throw archived(input.sessionId);
  const turn = { session, intent: intents[0], userMessage: messages[0]!, assistantMessage: messages[1]! };
  return input.stream ? sseResponse(turnEvents(turn)) : c.json(turn, 201);
}

export const chatMessageRoutes = createRouter()
  .openapi(send, (c) => sendMessage(c, c.req.valid("json")))
  .openapi(listMessages, async (c) => {
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    const { db } = c.var;
    const userId = c.var.principal!.userId;
    const [sessions, rows] = await runFactory(c, listMessages, [
      db.select({ id: chatSessions.id }).from(chatSessions).where(and(eq(chatSessions.id, id), eq(chatSessions.userId, userId), ne(chatSessions.status, "deleted"))),
      db
        .select({ ...columnsOf(chatMessages), ...oldest.columns })
        .from(chatMessages)
        .where(and(eq(chatMessages.sessionId, id), sql`exists (select 1 from ${chatSessions} s where s.id = ${id}::uuid and s.user_id = ${userId}::uuid and s.status <> 'deleted')`, oldest.after(q.cursor)))
        .orderBy(...oldest.orderBy)
        .limit(q.limit + 1),
    ] as const);
    if (!sessions[0]) throw notFound(`chat session ${id}`);
    const page = oldest.page(rows, q.limit);
    return c.json({ items: page.items as unknown as z.infer<typeof ChatMessage>[], nextCursor: page.nextCursor }, 200);
  });
