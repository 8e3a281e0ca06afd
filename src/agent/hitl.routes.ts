import { z } from "@hono/zod-openapi";
import { eq, sql } from "drizzle-orm";
import { runAs } from "../platform/db";
import { JsonObject } from "../platform/input";
import { ApiError, fieldError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { pageOf, PageQuery, uuidParams } from "../platform/schemas";
import { rowSchema } from "../platform/table-schema";
import { agentRole, agentRoute, requireAgentRole, WRITERS } from "./access";
import { todoState } from "./exec-sql";
import { answerEditEvent, answerEffects, answerEvent, askInput, DEFAULT_EVENT_TIMEOUT_SECONDS, editEventSource, listEvents, oldestFirst, openPlanEvent, selectEvent } from "./hitl-sql";
import { MAX_TODOS, proposeTodos, toolNamesOf, type ProposedTodo } from "./plan-build";
import { editRefused } from "./plan-edit";
import { applyWrittenEdit, editVerdict, writeEdit } from "./plan-edit-sql";
import { planState } from "./plan-sql";
import { toolsFor } from "./plan-tools";
import { TodoInput } from "./plans.routes";
import { HITL_EVENT_TYPES, HITL_STATUSES, hitlEvents, sessions } from "./schema";

export const HitlEvent = rowSchema(hitlEvents, { eventData: JsonObject.nullable() }).openapi("AgentHitlEvent");
const EventPage = pageOf(HitlEvent, "AgentHitlEventPage");

/** Answered by managers and admins only (docs/agent.md, "Human in the loop"). */
const MANAGER_TYPES = ["plan_review", "approval_request"] as const;
/** Opened on a plan by this route; approval requests come from claims, input requests from executors. */
const PLAN_EVENT_TYPES = ["plan_review", "pause", "resume", "cancel", "edit", "replan"] as const;
/** Events that propose a new todo set: approving one applies it as a new version. */
const EDIT_TYPES: readonly string[] = ["edit", "replan"];

const Timeout = z.int().min(60).max(30 * 24 * 60 * 60).default(DEFAULT_EVENT_TIMEOUT_SECONDS).openapi({ description: "timeout_at = now + this; default 24 h" });
const PlanEventInput = z
  .object({
    type: z.enum(PLAN_EVENT_TYPES),
    data: JsonObject.optional(),
    timeoutSeconds: Timeout,
    todos: z.array(TodoInput).min(1).max(MAX_TODOS).optional().openapi({ description: "edit and replan: the proposed todo set (required for them, refused for others)" }),
    changeReason: z.string().max(2000).optional(),
  })
  .strict()
  .openapi("AgentPlanEventInput");
const InputRequest = z
  .object({ question: z.string().min(1).max(10_000), data: JsonObject.optional(), timeoutSeconds: Timeout })
  .strict()
  .openapi("AgentInputRequest");
const Respond = z
  .object({
    decision: z.enum(["approve", "reject", "answer"]).openapi({ description: "input_request: answer or reject; every other type: approve or reject" }),
    answer: JsonObject.optional().openapi({ description: "input_request: merged into the todo's input_data" }),
    reason: z.string().max(2000).optional(),
  })
  .strict()
  .openapi("AgentHitlResponse");

const tags = ["agent"];
const IdParam = uuidParams("id");

const list = agentRoute(
  {
    method: "get",
    path: "/sessions/{id}/events",
    tags,
    summary: "A session's HITL events of one status (default pending), oldest first",
    request: { params: IdParam, query: z.object({ status: z.enum(HITL_STATUSES).default("pending"), ...PageQuery }) },
    responses: { 200: json(EventPage, "A page of events") },
  },
  404,
);
const openOnPlan = agentRoute(
  {
    method: "post",
    path: "/plans/{id}/events",
    tags,
    summary: "Open a plan_review, pause, resume, cancel, edit or replan event on a plan, for a person to answer",
    request: { params: IdParam, body: jsonBody(PlanEventInput) },
    responses: { 201: json(HitlEvent, "Opened") },
  },
  403,
  404,
  409,
);
const askForInput = agentRoute(
  {
    method: "post",
    path: "/todos/{id}/input-request",
    tags,
    summary: "An executor asks a person about its in-progress todo; the todo waits for the answer",
    request: { params: IdParam, body: jsonBody(InputRequest) },
    responses: { 201: json(HitlEvent, "Asked") },
  },
  403,
  404,
  409,
);
const respond = agentRoute(
  {
    method: "post",
    path: "/events/{id}/respond",
    tags,
    summary: "Answer a pending HITL event, once",
    request: { params: IdParam, body: jsonBody(Respond) },
    responses: { 200: json(HitlEvent, "Answered") },
  },
  403,
  404,
  409,
);

/** Registered without a typed chain, as exec.routes.ts. */
export const hitlRoutes = createRouter();
hitlRoutes
  .openapi(list, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    const [session, rows] = await runAs(db, c.var.principal!, [
      db.select({ id: sessions.id }).from(sessions).where(eq(sessions.id, id)),
      listEvents(db, id, q.status, q.cursor, q.limit),
    ] as const);
    if (!session[0]) throw notFound(`session ${id}`);
    return c.json(oldestFirst.page(rows, q.limit), 200);
  })
  .openapi(openOnPlan, async (c) => {
    const { db, redis, config } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, WRITERS, "open an event");
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    const proposes = EDIT_TYPES.includes(input.type);
    if (proposes !== (input.todos !== undefined)) throw fieldError("json.todos", proposes ? `is required for ${input.type}` : `is only given with edit or replan`);
    // A proposal is checked now, as an edit is (DAG, tools, tool_params), and stored as it will be
    // applied; approving it re-checks in SQL what may have changed meanwhile (plan-edit-sql.ts).
    const proposal = input.todos ? proposeTodos(input.todos, await toolsFor(db, redis, config, principal, toolNamesOf(input.todos))) : undefined;
    const data = { ...input.data, ...(proposal ? { todos: proposal, changeReason: input.changeReason ?? null } : {}) };
    const eventId = crypto.randomUUID();
    const [, event, state] = await runAs(db, principal, [
      openPlanEvent(db, eventId, id, input.type, data, input.timeoutSeconds, principal.userId),
      selectEvent(db, eventId),
      planState(db, id),
    ] as const);
    if (!state[0]) throw notFound(`plan ${id}`);
    if (!event[0]) throw new ApiError(409, "invalid_state", `cannot open an event on plan ${id}: it is ${state[0].status}`, { currentStatus: state[0].status });
    return c.json(event[0], 201);
  })
  .openapi(askForInput, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, WRITERS, "ask for input");
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    const eventId = crypto.randomUUID();
    const [, event, state] = await runAs(db, principal, [
      askInput(db, eventId, id, input.question, input.data ?? {}, input.timeoutSeconds, principal.userId),
      selectEvent(db, eventId),
      todoState(db, id),
    ] as const);
    if (!state[0]) throw notFound(`todo ${id}`);
    if (!event[0]) throw new ApiError(409, "invalid_state", `cannot ask for input on todo ${id}: it is ${state[0].status} (asking takes in_progress)`, { currentStatus: state[0].status });
    return c.json(event[0], 201);
  })
  .openapi(respond, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, WRITERS, "answer an event");
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    if (input.answer && input.decision !== "answer") throw fieldError("json.answer", "is only given with decision answer (an input_request)");
    if (input.decision === "answer" && !input.answer) throw fieldError("json.answer", "is required to answer an input_request");
    const manager = ["admin", "manager"].includes(agentRole(principal));
    // Approving an edit or replan applies its todo set: the edit statements below, which answer it.
    const types = HITL_EVENT_TYPES.filter((t) => (manager || !(MANAGER_TYPES as readonly string[]).includes(t)) && !(input.decision === "approve" && EDIT_TYPES.includes(t)));
    const userInput = input.answer ? JSON.stringify(input.answer) : (input.reason ?? null);
    const edit = input.decision === "approve" ? editEventSource(id) : { ...editEventSource(id), proposed: sql`null::jsonb` };
    const results = await runAs(db, principal, [
      answerEvent(db, id, types, { userId: principal.userId, decision: input.decision, input: userInput }),
      ...answerEffects(db, id, principal.userId, input.answer ?? null, input.reason ?? null),
      writeEdit(db, edit, principal.userId),
      ...applyWrittenEdit(db, edit.planId),
      answerEditEvent(db, id, principal.userId),
      selectEvent(db, id),
      editVerdict(db, edit),
    ] as const);
    const [answered] = results;
    const [editAnswered, event, verdict] = results.slice(-3) as [Awaited<ReturnType<typeof answerEditEvent>>, Awaited<ReturnType<typeof selectEvent>>, Awaited<ReturnType<typeof editVerdict>>];
    const current = event[0];
    if (!current) throw notFound(`event ${id}`);
    if (answered.rows[0] || editAnswered.rows[0]) return c.json(current, 200);
    if (current.status !== "pending") {
      throw new ApiError(409, "already_answered", `event ${id} is ${current.status}${current.userDecision ? ` (${current.userDecision})` : ""}`, { currentStatus: current.status });
    }
    if (input.decision === "approve" && EDIT_TYPES.includes(current.eventType) && current.planId) {
      throw editRefused(current.planId, verdict.rows[0], (current.eventData as { todos: ProposedTodo[] }).todos, "eventData.todos");
    }
    if (!types.includes(current.eventType)) {
      throw new ApiError(403, "agent_role_required", `a ${agentRole(principal)} may not answer a ${current.eventType}; it takes admin or manager`, { role: agentRole(principal) });
    }
    throw fieldError("json.decision", `a ${current.eventType} takes ${current.eventType === "input_request" ? "answer or reject" : "approve or reject"}`);
  });
