import type { Bindings } from "../platform/context";
import { backgroundDatabase, runAs } from "../platform/db";
import { blockDependents, changedNow, settlePlans, timeOutTodos } from "./exec-sql";
import { timeOutEvents } from "./hitl-sql";
import { SERVICE_PRINCIPAL } from "./jobs";

/** Todos one run times out at most; a backlog drains over the following minutes. */
const TIMEOUT_BATCH = 500;

/**
 * Every minute: in-progress todos past started_at + timeout_seconds fail by the retry rule, the
 * dependents of those that failed for good are blocked, and their plans settle. One round trip.
 */
export async function timeOutDueTodos(env: Bindings): Promise<Record<string, unknown>> {
  const { db } = backgroundDatabase(env, "job-agent-todo-timeouts");
  const [timed] = await runAs(db, SERVICE_PRINCIPAL, [timeOutTodos(db, TIMEOUT_BATCH), blockDependents(db, changedNow("id")), settlePlans(db, changedNow("plan_id"))] as const);
  return { retried: timed.rows.filter((r) => r.status === "pending").length, failed: timed.rows.filter((r) => r.status === "failed").length };
}

/** HITL events one run times out at most. */
const EVENT_BATCH = 500;

/** Every minute: pending HITL events past timeout_at time out with their type's effect (hitl-sql.ts). One round trip. */
export async function timeOutDueEvents(env: Bindings): Promise<Record<string, unknown>> {
  const { db } = backgroundDatabase(env, "job-agent-hitl-timeouts");
  const [timed] = await runAs(db, SERVICE_PRINCIPAL, timeOutEvents(db, EVENT_BATCH));
  return { timedOut: timed.rows.length };
}
