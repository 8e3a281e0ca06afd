import { and, eq, sql, type SQL } from "drizzle-orm";
import type { Database } from "../platform/db";
import { keyset } from "../platform/paging";
import { columnsOf } from "../platform/table-schema";
import { blockDependents, settlePlans } from "./exec-sql";
import type { EditSource } from "./plan-edit-sql";
import { hitlEvents, HITL_STATUSES } from "./schema";

/**
 * Human-in-the-loop events (spec 002 §3.6, docs/agent.md "Human in the loop"): opening them,
 * answering one once, and what each answer does, as statements guarded on the event having been
 * answered in this very batch (`responded_at = now()`), so one batch serves every type.
 */

export const DEFAULT_EVENT_TIMEOUT_SECONDS = 24 * 60 * 60;

export const oldestFirst = keyset([hitlEvents.requestedAt, hitlEvents.id], "asc");

export const listEvents = (db: Database, sessionId: string, status: (typeof HITL_STATUSES)[number], cursor: string | undefined, limit: number) =>
  db
    .select({ ...columnsOf(hitlEvents), ...oldestFirst.columns })
    .from(hitlEvents)
    .where(and(eq(hitlEvents.sessionId, sessionId), eq(hitlEvents.status, status), oldestFirst.after(cursor)))
    .orderBy(...oldestFirst.orderBy)
    .limit(limit + 1);

/** An event on a plan, opened by a person or an agent; its session and organization are the plan's. */
export function openPlanEvent(db: Database, eventId: string, planId: string, type: string, data: Record<string, unknown>, timeoutSeconds: number, userId: string) {
  return db.execute(sql`
    insert into agent.hitl_events (id, session_id, plan_id, event_type, event_data, user_id, timeout_at, organization_id)
    select ${eventId}::uuid, p.session_id, p.id, ${type}, ${JSON.stringify(data)}::jsonb, ${userId}::uuid, now() + make_interval(secs => ${timeoutSeconds}), p.organization_id
    from agent.plans p where p.id = ${planId}::uuid and p.status not in ('completed', 'failed', 'cancelled')
    returning id`);
}

/**
 * An executor asks a person about an in-progress todo: the todo waits (needs_approval: awaiting a
 * person) with an input_request open, and an executing plan shows it is waiting.
 */
export function askInput(db: Database, eventId: string, todoId: string, question: string, data: Record<string, unknown>, timeoutSeconds: number, userId: string) {
  return db.execute(sql`
    with asked as (
      update agent.todos t set status = 'needs_approval', progress_percentage = 0, updated_at = now()
      where t.id = ${todoId}::uuid and t.status = 'in_progress'
      returning t.id, t.plan_id, t.organization_id),
    waiting as (
      update agent.plans p set status = 'waiting', updated_at = now() from asked a where p.id = a.plan_id and p.status = 'executing')
    insert into agent.hitl_events (id, session_id, plan_id, todo_id, event_type, event_data, user_id, timeout_at, organization_id)
    select ${eventId}::uuid, p.session_id, a.plan_id, a.id, 'input_request', ${JSON.stringify({ ...data, question })}::jsonb, ${userId}::uuid,
           now() + make_interval(secs => ${timeoutSeconds}), a.organization_id
    from asked a join agent.plans p on p.id = a.plan_id
    returning id`);
}

export const selectEvent = (db: Database, id: string) => db.select(columnsOf(hitlEvents)).from(hitlEvents).where(eq(hitlEvents.id, id));

/** Answers a pending event once; the effects below key on this statement's `responded_at = now()`. */
export function answerEvent(db: Database, id: string, types: readonly string[], a: { userId: string; decision: string; input: string | null }) {
  return db.execute<{ id: string }>(sql`
    update agent.hitl_events set status = 'completed', user_id = ${a.userId}::uuid, user_decision = ${a.decision}, user_input = ${a.input}::text,
           responded_at = now()
    where id = ${id}::uuid and status = 'pending' and event_type in (select jsonb_array_elements_text(${JSON.stringify(types)}::jsonb))
      and ${a.decision} in (select jsonb_array_elements_text(case when event_type = 'input_request' then '["answer","reject"]'::jsonb
                                                                    else '["approve","reject"]'::jsonb end))
    returning id`);
}

/**
 * An edit or replan event's proposal as writeEdit's source (plan-edit-sql.ts): its todos while the
 * event is pending (nothing otherwise), its tools usable when unchanged since the event was opened
 * (they were checked then).
 */
export function editEventSource(id: string): EditSource {
  const event = (column: SQL) => sql`(select ${column} from agent.hitl_events e where e.id = ${id}::uuid)`;
  return {
    planId: event(sql`e.plan_id`),
    proposed: sql`(select e.event_data->'todos' from agent.hitl_events e where e.id = ${id}::uuid and e.status = 'pending' and e.event_type in ('edit', 'replan'))`,
    changeType: event(sql`case e.event_type when 'edit' then 'user_edit' else 'replan' end`),
    changeReason: event(sql`e.event_data->>'changeReason'`),
    toolUsable: sql`t.is_active and t.updated_at <= ${event(sql`e.requested_at`)}`,
  };
}

/** An edit or replan event approved, when this batch's edit moved its plan (the plan's updated_at is the batch's now()). */
export function answerEditEvent(db: Database, id: string, userId: string) {
  return db.execute<{ id: string }>(sql`
    update agent.hitl_events e set status = 'completed', user_id = ${userId}::uuid, user_decision = 'approve', responded_at = now()
    where e.id = ${id}::uuid and e.status = 'pending' and e.event_type in ('edit', 'replan')
      and exists (select 1 from agent.plans p where p.id = e.plan_id and p.updated_at = now())
    returning e.id`);
}

/** The plan or todo of event `id` when this batch answered it with `decision` and it is of `type`. */
const answered = (id: string, type: string, decision: string, column: "plan_id" | "todo_id") =>
  sql`(select e.${sql.raw(column)} from agent.hitl_events e where e.id = ${id}::uuid and e.event_type = ${type}
       and e.user_decision = ${decision} and e.status = 'completed' and e.responded_at = now())`;

const movePlan = (db: Database, planId: SQL, from: string[], to: string) =>
  db.execute(sql`
    update agent.plans set status = ${to}, updated_at = now(),
           started_at = case when ${to} = 'executing' then coalesce(started_at, now()) else started_at end,
           completed_at = case when ${to} = 'cancelled' then now() else completed_at end
    where id = ${planId} and status in (select jsonb_array_elements_text(${JSON.stringify(from)}::jsonb))
      and (${to} <> 'executing' or exists (select 1 from agent.organizations o where o.id = organization_id
                                         and coalesce(o.current_month_tokens, 0) < coalesce(o.max_monthly_tokens, 0)))`);

/** A waiting plan goes back to executing once no input request of it is pending. */
export const unwait = (db: Database, planId: SQL) =>
  db.execute(sql`
    update agent.plans p set status = 'executing', updated_at = now()
    where p.id = ${planId} and p.status = 'waiting'
      and not exists (select 1 from agent.hitl_events e where e.plan_id = p.id and e.event_type = 'input_request' and e.status = 'pending')`);

/** Every effect of an answer, each guarded on type and decision: the batch runs them all, one applies. */
export function answerEffects(db: Database, id: string, userId: string, answer: Record<string, unknown> | null, reason: string | null) {
  const approvalTodo = (d: string) => answered(id, "approval_request", d, "todo_id");
  const inputTodo = (d: string) => answered(id, "input_request", d, "todo_id");
  const plan = (t: string) => answered(id, t, "approve", "plan_id");
  return [
    // plan_review: approve moves a draft plan to approved, reject cancels it.
    movePlan(db, plan("plan_review"), ["draft"], "approved"),
    movePlan(db, answered(id, "plan_review", "reject", "plan_id"), ["draft"], "cancelled"),
    // pause, resume, cancel: approving applies the move (when the plan is in a state it moves from).
    movePlan(db, plan("pause"), ["executing", "waiting"], "paused"),
    movePlan(db, plan("resume"), ["paused"], "executing"),
    movePlan(db, plan("cancel"), ["draft", "approved", "executing", "paused", "waiting"], "cancelled"),
    // approval_request: as POST /todos/{id}/approve and /reject.
    db.execute(sql`
      update agent.todos set status = 'pending', approved_by = ${userId}::uuid, approved_at = now(), updated_at = now()
      where id = ${approvalTodo("approve")} and status = 'needs_approval'`),
    db.execute(sql`
      update agent.todos set status = 'cancelled', rejection_reason = ${reason ?? "rejected"}::text, completed_at = now(), updated_at = now()
      where id in (${approvalTodo("reject")}, ${inputTodo("reject")}) and status = 'needs_approval'`),
    // input_request: the answer merges into input_data and the todo is runnable again.
    db.execute(sql`
      update agent.todos set status = 'pending', input_data = coalesce(input_data, '{}'::jsonb) || ${JSON.stringify(answer ?? {})}::jsonb, updated_at = now()
      where id = ${inputTodo("answer")} and status = 'needs_approval'`),
    unwait(db, sql`(select plan_id from agent.hitl_events where id = ${id}::uuid and event_type = 'input_request' and responded_at = now())`),
    blockDependents(db, sql`select todo_id from agent.hitl_events where id = ${id}::uuid and responded_at = now()`),
    settlePlans(db, sql`select plan_id from agent.hitl_events where id = ${id}::uuid and responded_at = now()`),
  ] as const;
}

/**
 * The HITL cron: pending events past timeout_at become `timeout`. An approval request's todo is
 * then rejected (nothing runs unapproved), an input request's todo fails for want of an answer;
 * either way its dependents are blocked and the plan settles. Other types lapse with no effect.
 */
export function timeOutEvents(db: Database, limit: number) {
  return [
    db.execute<{ id: string; event_type: string }>(sql`
      with due as (
        select e.id from agent.hitl_events e where e.status = 'pending' and e.timeout_at <= now()
        order by e.timeout_at limit ${limit} for update skip locked)
      update agent.hitl_events e set status = 'timeout', responded_at = now() from due where e.id = due.id
      returning e.id, e.event_type`),
    db.execute(sql`
      update agent.todos t set status = case when e.event_type = 'approval_request' then 'cancelled' else 'failed' end,
             rejection_reason = case when e.event_type = 'approval_request' then 'approval timed out' else t.rejection_reason end,
             error_message = case when e.event_type = 'input_request' then 'input request timed out' else t.error_message end,
             completed_at = now(), updated_at = now()
      from agent.hitl_events e
      where e.todo_id = t.id and e.status = 'timeout' and e.responded_at = now() and t.status = 'needs_approval'
        and e.event_type in ('approval_request', 'input_request')`),
    unwaitAll(db),
    blockDependents(db, sql`select id from agent.todos where updated_at = now()`),
    settlePlans(db, sql`select plan_id from agent.hitl_events where status = 'timeout' and responded_at = now()`),
  ] as const;
}

const unwaitAll = (db: Database) =>
  db.execute(sql`
    update agent.plans p set status = 'executing', updated_at = now()
    where p.status = 'waiting' and p.id in (select plan_id from agent.hitl_events where status = 'timeout' and responded_at = now())
      and not exists (select 1 from agent.hitl_events e where e.plan_id = p.id and e.event_type = 'input_request' and e.status = 'pending')`);
