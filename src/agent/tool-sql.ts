import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../platform/db";
import { plans, sessions, todos, toolExecutions, tools, users } from "./schema";

/** A tool as the caller sees it, and whether they may change it, to tell 404, 403 and 409 apart after a write matched nothing. */
export function toolState(db: Database, id: string) {
  return db
    .select({
      isActive: sql<boolean>`coalesce(${tools.isActive}, true)`,
      shared: sql<boolean>`${tools.organizationId} is null`,
    })
    .from(tools)
    .where(eq(tools.id, id));
}

export interface NewExecution {
  toolName: string;
  sessionId?: string;
  todoId?: string;
  inputParams?: Record<string, unknown>;
  outputData?: unknown;
  success: boolean;
  errorMessage?: string;
  executionTimeMs?: number;
  startedAt: string;
  completedAt?: string;
  tokensUsed?: number;
  costUsd?: number;
}

const todoSession = (todoId: string) => sql`(select p.session_id from ${todos} t join ${plans} p on p.id = t.plan_id where t.id = ${todoId}::uuid)`;

/**
 * The checks a logged execution must pass, each a column so one failed insert says which:
 * the tool is visible, the session is visible, the todo is visible (and of that session), the
 * caller is an active user of their organization.
 */
function executionChecks(input: NewExecution, userId: string, orgId: string) {
  return {
    tool: sql<boolean>`exists (select 1 from ${tools} where ${tools.name} = ${input.toolName})`,
    session: input.sessionId ? sql<boolean>`exists (select 1 from ${sessions} where ${sessions.id} = ${input.sessionId}::uuid)` : sql<boolean>`true`,
    todo: input.todoId
      ? sql<boolean>`exists (select 1 from ${todos} where ${todos.id} = ${input.todoId}::uuid)
          and ${input.sessionId ? sql`${todoSession(input.todoId)} = ${input.sessionId}::uuid` : sql`true`}`
      : sql<boolean>`true`,
    member: sql<boolean>`exists (select 1 from ${users} where ${users.id} = ${userId}::uuid and ${users.organizationId} = ${orgId}::uuid and ${users.isActive})`,
  };
}

/** Reports what executionChecks found, beside the insert in the same batch. */
export function executionCheckRow(db: Database, input: NewExecution, userId: string, orgId: string) {
  return db.select(executionChecks(input, userId, orgId)).from(sql`(select 1) as one`);
}

/**
 * Logs one tool execution (§4.2) when every check passes; no row otherwise. The session is the
 * given one, else the todo's plan's. Columns in table order (insert … select).
 */
export function insertExecution(db: Database, input: NewExecution, userId: string, orgId: string) {
  const checks = executionChecks(input, userId, orgId);
  const session = input.sessionId ? sql`${input.sessionId}::uuid` : input.todoId ? todoSession(input.todoId) : sql`null::uuid`;
  return db
    .insert(toolExecutions)
    .select(
      db
        .select({
          id: sql`gen_random_uuid()`.as("id"),
          toolId: tools.id,
          toolName: tools.name,
          sessionId: sql`${session}`.as("session_id"),
          todoId: sql`${input.todoId ?? null}::uuid`.as("todo_id"),
          inputParams: sql`${input.inputParams === undefined ? null : JSON.stringify(input.inputParams)}::jsonb`.as("input_params"),
          outputData: sql`${input.outputData === undefined ? null : JSON.stringify(input.outputData)}::jsonb`.as("output_data"),
          success: sql`${input.success}::boolean`.as("success"),
          errorMessage: sql`${input.errorMessage ?? null}::text`.as("error_message"),
          executionTimeMs: sql`${input.executionTimeMs ?? null}::integer`.as("execution_time_ms"),
          startedAt: sql`${input.startedAt}::timestamptz`.as("started_at"),
          completedAt: sql`${input.completedAt ?? null}::timestamptz`.as("completed_at"),
          tokensUsed: sql`${input.tokensUsed ?? null}::integer`.as("tokens_used"),
          costUsd: sql`${input.costUsd === undefined ? null : String(input.costUsd)}::numeric`.as("cost_usd"),
          createdAt: sql`now()`.as("created_at"),
          organizationId: sql`${orgId}::uuid`.as("organization_id"),
        })
        .from(tools)
        .where(and(eq(tools.name, input.toolName), checks.session, checks.todo, checks.member)),
    )
    .returning();
}
