import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { runAs } from "../platform/db";
import { freeJson, JsonObject } from "../platform/input";
import { keyset } from "../platform/paging";
import { fieldError } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { pageOf, PageQuery, Timestamp } from "../platform/schemas";
import { columnsOf, rowSchema } from "../platform/table-schema";
import { agentRoute, callerOrg, notProvisioned, requireAgentRole, WRITERS } from "./access";
import { ToolName } from "./fields";
import { toolExecutions } from "./schema";
import { executionCheckRow, insertExecution } from "./tool-sql";

export const ToolExecution = rowSchema(toolExecutions, { inputParams: JsonObject.nullable(), outputData: z.unknown() }).openapi("AgentToolExecution");
const ToolExecutionPage = pageOf(ToolExecution, "AgentToolExecutionPage");

const Count = z.int().min(0).max(2_000_000_000);
const ExecutionInput = z
  .object({
    toolName: ToolName,
    sessionId: z.uuid().optional(),
    todoId: z.uuid().optional().openapi({ description: "Absent for runs outside todos; when given without sessionId, the todo's session is recorded" }),
    inputParams: JsonObject.optional(),
    outputData: freeJson(z.unknown()).optional(),
    success: z.boolean(),
    errorMessage: z.string().max(100_000).optional(),
    executionTimeMs: Count.optional(),
    startedAt: Timestamp,
    completedAt: Timestamp.optional(),
    tokensUsed: Count.optional(),
    costUsd: z.number().min(0).max(9999.999999).optional(),
  })
  .strict()
  .refine((e) => !e.completedAt || Date.parse(e.completedAt) >= Date.parse(e.startedAt), { path: ["completedAt"], message: "must not be before startedAt" })
  .openapi("AgentToolExecutionInput");

const tags = ["agent"];

const logExecution = agentRoute(
  {
    method: "post",
    path: "/tool-executions",
    tags,
    summary: "Record one tool execution (§4.2), in a todo or outside any (not viewers)",
    request: { body: jsonBody(ExecutionInput) },
    responses: { 201: json(ToolExecution, "Recorded") },
  },
  403,
  409,
);
const listExecutions = agentRoute({
  method: "get",
  path: "/tool-executions",
  tags,
  summary: "The organization's tool executions, newest first, optionally of one tool, session, todo or outcome",
  request: {
    query: z.object({
      toolName: z.string().max(100).optional(),
      sessionId: z.uuid().optional(),
      todoId: z.uuid().optional(),
      success: z.enum(["true", "false"]).optional(),
      ...PageQuery,
    }),
  },
  responses: { 200: json(ToolExecutionPage, "A page of tool executions") },
});

const newest = keyset([toolExecutions.createdAt, toolExecutions.id], "desc");

export const toolExecutionRoutes = createRouter()
  .openapi(logExecution, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, WRITERS, "record a tool execution");
    const orgId = callerOrg(principal);
    if (!orgId) throw notProvisioned(principal);
    const input = c.req.valid("json");
    const [rows, checks] = await runAs(db, principal, [
      insertExecution(db, input, principal.userId, orgId),
      executionCheckRow(db, input, principal.userId, orgId),
    ] as const);
    if (rows[0]) return c.json(rows[0], 201);
    const found = checks[0]!;
    if (!found.tool) throw fieldError("json.toolName", `no tool named "${input.toolName}" is visible to this organization`);
    if (!found.session) throw fieldError("json.sessionId", `session ${input.sessionId} was not found`);
    if (!found.todo) throw fieldError("json.todoId", input.sessionId ? `todo ${input.todoId} was not found in session ${input.sessionId}` : `todo ${input.todoId} was not found`);
    throw notProvisioned(principal);
  })
  .openapi(listExecutions, async (c) => {
    const { db } = c.var;
    const q = c.req.valid("query");
    const [rows] = await runAs(db, c.var.principal, [
      db
        .select({ ...columnsOf(toolExecutions), ...newest.columns })
        .from(toolExecutions)
        .where(
          and(
            q.toolName ? eq(toolExecutions.toolName, q.toolName) : undefined,
            q.sessionId ? eq(toolExecutions.sessionId, q.sessionId) : undefined,
            q.todoId ? eq(toolExecutions.todoId, q.todoId) : undefined,
            q.success ? eq(toolExecutions.success, q.success === "true") : undefined,
            newest.after(q.cursor),
          ),
        )
        .orderBy(...newest.orderBy)
        .limit(q.limit + 1),
    ] as const);
    return c.json(newest.page(rows, q.limit), 200);
  });
