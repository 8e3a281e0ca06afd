import { and, asc, eq, inArray, sql, type SQL } from "drizzle-orm";
import type { Database } from "../platform/db";
import { columnsOf } from "../platform/table-schema";
import { RETRY_BASE_SECONDS, RETRY_MAX_SECONDS } from "./dag-runtime";
import { plans, todos, type TODO_STATUSES } from "./schema";

type TodoStatus = (typeof TODO_STATUSES)[number];

/**
 * The DAG's moves as statements (docs/agent.md, "Executing the DAG"). Each mirrors a rule of
 * dag-runtime.ts in SQL, so a claim, a completion or a failure is one batch: readyTodos (claim),
 * failureOutcome (fail, timeout), dependentsToBlock, planOutcome and countersOf (settle).
 */

/** How long an approval request waits for a person before the HITL cron times it out. */
export const APPROVAL_TIMEOUT_SECONDS = 24 * 60 * 60;

const DONE = sql`('completed', 'skipped')`;

/** Every dependency of todo `t` is completed or skipped. */
const dependenciesDone = (t: SQL) => sql`not exists (select 1 from agent.todos d where d.id = any(${t}.depends_on) and d.status not in ${DONE})`;

/** retryDelaySeconds in SQL: 30 s × 2^(retry_count − 1), at most 10 minutes, none before the first retry. */
const backoffPassed = sql`${todos.updatedAt} + make_interval(secs => case when ${todos.retryCount} <= 0 then 0
  else least(${RETRY_BASE_SECONDS} * power(2, ${todos.retryCount} - 1), ${RETRY_MAX_SECONDS}) end) <= now()`;

/** A waiting plan is executing with a person's answer awaited: its other todos still run. */
const executing = (planId: string) => sql`exists (select 1 from agent.plans p where p.id = ${planId}::uuid and p.status in ('executing', 'waiting'))`;

/**
 * Pending todos of an executing plan that are ready but for a person's approval move to
 * needs_approval, each opening an approval_request. A concurrent claim re-checks `pending` after
 * this statement's row locks, so each todo opens one request.
 */
export function askApprovals(db: Database, planId: string) {
  return db.execute(sql`
    with moved as (
      update agent.todos t set status = 'needs_approval', updated_at = now()
      where t.plan_id = ${planId}::uuid and t.status = 'pending' and t.requires_approval and t.approved_at is null
        and ${executing(planId)} and ${dependenciesDone(sql`t`)}
      returning t.id, t.plan_id, t.title, t.tool_name, t.tool_params, t.organization_id)
    insert into agent.hitl_events (session_id, plan_id, todo_id, event_type, event_data, timeout_at, organization_id)
    select p.session_id, m.plan_id, m.id, 'approval_request',
           jsonb_build_object('title', m.title, 'toolName', m.tool_name, 'toolParams', m.tool_params),
           now() + make_interval(secs => ${APPROVAL_TIMEOUT_SECONDS}), m.organization_id
    from moved m join agent.plans p on p.id = m.plan_id`);
}

/**
 * Claims up to `limit` runnable todos of an executing plan, in execution order. Rows another claim
 * holds are skipped (FOR UPDATE SKIP LOCKED), and the update re-checks `pending`, so two claims
 * never get the same todo, and one never gets more than `limit`.
 */
export function claimTodos(db: Database, planId: string, limit: number) {
  const runnable = db
    .select({ id: todos.id })
    .from(todos)
    .where(
      and(
        eq(todos.planId, planId),
        eq(todos.status, "pending"),
        sql`(not ${todos.requiresApproval} or ${todos.approvedAt} is not null)`,
        backoffPassed,
        dependenciesDone(sql`${todos}`),
        executing(planId),
      ),
    )
    .orderBy(asc(todos.executionOrder))
    .limit(limit)
    .for("update", { skipLocked: true });
  return db
    .update(todos)
    .set({ status: "in_progress", startedAt: sql`now()`, progressPercentage: 0, errorMessage: null, updatedAt: sql`now()` })
    // array(…) makes the pick an InitPlan, run once: as an IN subquery Postgres may re-run it per
    // row, and SKIP LOCKED would then pass over rows this very update has claimed and pick more.
    .where(and(sql`${todos.id} = any(array(${runnable}))`, eq(todos.status, "pending")))
    .returning();
}

export const todoState = (db: Database, id: string) =>
  db
    .select({ status: todos.status, planId: todos.planId, planStatus: plans.status })
    .from(todos)
    .innerJoin(plans, eq(plans.id, todos.planId))
    .where(eq(todos.id, id));

export const selectTodo = (db: Database, id: string) => db.select(columnsOf(todos)).from(todos).where(eq(todos.id, id));

export function reportProgress(db: Database, id: string, progress: number) {
  return db
    .update(todos)
    .set({ progressPercentage: progress, updatedAt: sql`now()` })
    .where(and(eq(todos.id, id), eq(todos.status, "in_progress")))
    .returning();
}

export interface Outcome {
  resultData?: Record<string, unknown>;
  outputPath?: string;
  tokensUsed?: number;
  apiCallsCount?: number;
  executionTimeMs?: number;
  costUsd?: number;
  errorMessage?: string;
  errorStack?: string;
}

/** The attempt's duration: the executor's figure, else since the claim. */
const elapsedMs = (o: Outcome) => sql`coalesce(${o.executionTimeMs ?? null}::int, (extract(epoch from now() - d.started_at) * 1000)::int)`;

/** The attempt's execution_results row and, for a todo that calls a tool, its tool_executions row. */
const recordAttempt = (success: boolean, o: Outcome) => sql`
  result as (
    insert into agent.execution_results (todo_id, plan_id, session_id, success, result_data, error_message, error_stack, execution_time_ms,
                                         started_at, completed_at, tool_name, tool_version, tokens_used, api_calls_count, organization_id)
    select d.id, d.plan_id, p.session_id, ${success}, ${o.resultData ? JSON.stringify(o.resultData) : null}::jsonb, ${o.errorMessage ?? null}::text,
           ${o.errorStack ?? null}::text, ${elapsedMs(o)}, coalesce(d.started_at, now()), now(), d.tool_name, tl.version,
           ${o.tokensUsed ?? null}::int, ${o.apiCallsCount ?? null}::int, d.organization_id
    from done d join agent.plans p on p.id = d.plan_id left join agent.tools tl on tl.name = d.tool_name),
  tool_run as (
    insert into agent.tool_executions (tool_id, tool_name, session_id, todo_id, input_params, output_data, success, error_message,
                                       execution_time_ms, started_at, completed_at, tokens_used, cost_usd, organization_id)
    select tl.id, d.tool_name, p.session_id, d.id, d.tool_params, ${o.resultData ? JSON.stringify(o.resultData) : null}::jsonb, ${success},
           ${o.errorMessage ?? null}::text, ${elapsedMs(o)}, coalesce(d.started_at, now()), now(), ${o.tokensUsed ?? null}::int,
           ${o.costUsd ?? null}::numeric, d.organization_id
    from done d join agent.plans p on p.id = d.plan_id left join agent.tools tl on tl.name = d.tool_name
    where d.tool_name is not null),
  charge as (
    update agent.organizations o set current_month_tokens = coalesce(o.current_month_tokens, 0) + ${o.tokensUsed ?? 0}::int
    from done d where o.id = d.organization_id and ${o.tokensUsed ?? 0}::int > 0)`;

/** An in-progress todo completes: its result, its tool run, the organization's tokens, in one statement. */
/**
 * An in-progress todo succeeded: recorded, completed. Returns what the §8.2 cache needs of its tool
 * (name, version, TTL), read in the same statement, so the route can store the result.
 */
export function completeTodo(db: Database, id: string, o: Outcome) {
  return db.execute<CompletedTodo>(sql`
    with done as (
      update agent.todos t set status = 'completed', result_data = ${o.resultData ? JSON.stringify(o.resultData) : null}::jsonb,
             output_path = ${o.outputPath ?? null}::text, progress_percentage = 100, completed_at = now(), updated_at = now()
      where t.id = ${id}::uuid and t.status = 'in_progress'
      returning t.id, t.plan_id, t.tool_name, t.tool_params, t.started_at, t.organization_id),
    ${recordAttempt(true, o)}
    select done.id, done.tool_params as "toolParams", done.organization_id as "organizationId",
           (extract(epoch from now() - done.started_at) * 1000)::int as "elapsedMs",
           tl.name as "toolName", tl.version as "toolVersion", tl.cache_ttl_seconds as "cacheTtlSeconds"
    from done left join agent.tools tl on tl.name = done.tool_name`);
}

/** A completed todo and, when it called a tool, that tool as the execution cache sees it. */
export type CompletedTodo = {
  id: string;
  toolParams: Record<string, unknown> | null;
  organizationId: string;
  /** Since the claim: the run's duration when the executor gives none. */
  elapsedMs: number;
  toolName: string | null;
  toolVersion: string | null;
  cacheTtlSeconds: number | null;
};

/** failureOutcome in SQL: back to pending with one more retry while retry_count < max_retries, else failed. */
const failed = sql`case when t.retry_count < t.max_retries then 'pending' else 'failed' end`;
const retried = sql`case when t.retry_count < t.max_retries then t.retry_count + 1 else t.retry_count end`;

/** An in-progress todo's attempt failed: recorded, then retried or failed (dependents: blockDependents). */
export function failTodo(db: Database, id: string, o: Outcome) {
  return db.execute<{ id: string; status: string }>(sql`
    with done as (
      update agent.todos t set status = ${failed}, retry_count = ${retried}, error_message = ${o.errorMessage ?? null}::text,
             progress_percentage = 0, updated_at = now()
      where t.id = ${id}::uuid and t.status = 'in_progress'
      returning t.id, t.plan_id, t.tool_name, t.tool_params, t.started_at, t.organization_id, t.status),
    ${recordAttempt(false, o)}
    select id, status from done`);
}

/**
 * dependentsToBlock in SQL: every todo depending on a failed or cancelled `root` (directly or
 * through others) that is still pending or awaiting approval becomes blocked. Touching nothing
 * when `root` did not end that way, it may run after any statement that might have. A plan it
 * changes gets an `auto_adjust` version: the previous snapshot with every todo's current status.
 */
export function blockDependents(db: Database, root: SQL) {
  return db.execute(sql`
    with recursive roots as (select r.id, r.plan_id from agent.todos r where r.id in (${root}) and r.status in ('failed', 'cancelled')),
    dep(id, plan_id) as (
      select t.id, t.plan_id from agent.todos t join roots f on t.plan_id = f.plan_id and t.depends_on @> array[f.id]
      union
      select t.id, t.plan_id from agent.todos t join dep on t.plan_id = dep.plan_id and t.depends_on @> array[dep.id]),
    blocked as (
      update agent.todos t set status = 'blocked', updated_at = now()
      from dep where t.id = dep.id and t.status in ('pending', 'needs_approval')
      returning t.id, t.plan_id),
    adjusted as (
      update agent.plans p set current_version = p.current_version + 1, updated_at = now()
      where p.id in (select plan_id from blocked)
      returning p.id, p.current_version, p.organization_id),
    entries as (
      select a.id as plan_id, e.value as entry, e.ordinality as n, b.id is not null as now_blocked,
             case when b.id is not null then 'blocked' else coalesce(t.status, e.value->>'status') end as status
      from adjusted a
      join agent.plan_versions v on v.plan_id = a.id and v.version = a.current_version - 1
      cross join jsonb_array_elements(v.todos_snapshot) with ordinality e
      left join agent.todos t on t.id = (e.value->>'id')::uuid
      left join blocked b on b.id = t.id)
    insert into agent.plan_versions (plan_id, version, todos_snapshot, change_type, change_reason, changed_by, organization_id)
    select a.id, a.current_version,
           (select jsonb_agg(x.entry || jsonb_build_object('status', x.status) order by x.n) from entries x where x.plan_id = a.id),
           'auto_adjust',
           'blocked: ' || (select string_agg(x.entry->>'key', ', ' order by x.n) from entries x where x.plan_id = a.id and x.now_blocked),
           'scheduler', a.organization_id
    from adjusted a`);
}

/** A todo that will not run: skipped (its dependents may run) or cancelled (they are blocked). */
export function settleTodo(db: Database, id: string, to: "skipped" | "cancelled", from: readonly TodoStatus[], reason?: string) {
  return db
    .update(todos)
    .set({ status: to, updatedAt: sql`now()`, completedAt: sql`now()`, ...(reason === undefined ? {} : { rejectionReason: reason }) })
    .where(and(eq(todos.id, id), inArray(todos.status, [...from])))
    .returning();
}

/** A todo awaiting approval is approved by the caller: back to pending, where it is runnable. */
export function approveTodo(db: Database, id: string, userId: string) {
  return db
    .update(todos)
    .set({ status: "pending", approvedBy: userId, approvedAt: sql`now()`, updatedAt: sql`now()` })
    // Only an approval request: a todo waiting for an input request's answer is not approved past it.
    .where(and(eq(todos.id, id), eq(todos.status, "needs_approval"), eq(todos.requiresApproval, true), sql`${todos.approvedAt} is null`))
    .returning();
}

/** The todo's open HITL events close with the person's answer, when this batch moved the todo. */
export function closeEvents(db: Database, todoId: string, status: "completed" | "cancelled", answer: { userId: string; decision: string; input?: string }) {
  return db.execute(sql`
    update agent.hitl_events set status = ${status}, user_id = ${answer.userId}::uuid, user_decision = ${answer.decision},
           user_input = ${answer.input ?? null}::text, responded_at = now()
    where todo_id = ${todoId}::uuid and status = 'pending'
      and exists (select 1 from agent.todos t where t.id = ${todoId}::uuid and t.updated_at = now())`);
}

/**
 * The plans `which` names get their counters and actuals from their todos and results, and end by
 * themselves per planOutcome when executing, paused or waiting: completed when every todo is
 * completed or skipped; failed when none is pending, in progress or awaiting approval and one
 * failed, was cancelled or is blocked.
 */
export function settlePlans(db: Database, which: SQL) {
  return db.execute(sql`
    with c as (
      select t.plan_id,
             count(*)::int as total,
             (count(*) filter (where t.status = 'completed'))::int as completed,
             (count(*) filter (where t.status = 'failed'))::int as failed,
             (count(*) filter (where t.status in ${DONE}))::int as done,
             (count(*) filter (where t.status in ('pending', 'in_progress', 'needs_approval')))::int as open
      from agent.todos t where t.plan_id in (${which}) group by t.plan_id),
    a as (
      select r.plan_id, sum(r.execution_time_ms) as ms from agent.execution_results r where r.plan_id in (${which}) group by r.plan_id),
    k as (
      select t.plan_id, sum(x.cost_usd) as cost from agent.tool_executions x join agent.todos t on t.id = x.todo_id
      where t.plan_id in (${which}) group by t.plan_id),
    o as (
      select c.*, case when c.done = c.total then 'completed' when c.open = 0 then 'failed' end as outcome from c)
    update agent.plans p set
      total_todos = o.total, completed_todos = o.completed, failed_todos = o.failed,
      actual_duration_seconds = round(coalesce(a.ms, 0) / 1000.0)::int, actual_cost = coalesce(k.cost, 0),
      status = case when p.status in ('executing', 'paused', 'waiting') and o.outcome is not null then o.outcome else p.status end,
      completed_at = case when p.status in ('executing', 'paused', 'waiting') and o.outcome is not null then now() else p.completed_at end,
      updated_at = now()
    from o left join a on a.plan_id = o.plan_id left join k on k.plan_id = o.plan_id
    where p.id = o.plan_id`);
}

/** The plan of one todo, as `which` for settlePlans. */
export const planOfTodo = (id: string) => sql`select plan_id from agent.todos where id = ${id}::uuid`;

/**
 * The timeout cron: in-progress todos past started_at + timeout_seconds fail by the retry rule
 * (with a failed execution result), at most `limit` a run, skipping rows a route holds.
 */
export function timeOutTodos(db: Database, limit: number) {
  return db.execute<{ id: string; plan_id: string; status: string }>(sql`
    with due as (
      select t.id from agent.todos t
      where t.status = 'in_progress' and t.started_at + make_interval(secs => coalesce(t.timeout_seconds, 300)) <= now()
      order by t.started_at limit ${limit} for update skip locked),
    done as (
      update agent.todos t set status = ${failed}, retry_count = ${retried},
             error_message = 'timed out after ' || coalesce(t.timeout_seconds, 300) || ' s', progress_percentage = 0, updated_at = now()
      from due where t.id = due.id
      returning t.id, t.plan_id, t.tool_name, t.tool_params, t.started_at, t.organization_id, t.status, t.timeout_seconds),
    result as (
      insert into agent.execution_results (todo_id, plan_id, session_id, success, error_message, execution_time_ms, started_at, completed_at,
                                           tool_name, organization_id)
      select d.id, d.plan_id, p.session_id, false, 'timed out after ' || coalesce(d.timeout_seconds, 300) || ' s',
             (extract(epoch from now() - d.started_at) * 1000)::int, d.started_at, now(), d.tool_name, d.organization_id
      from done d join agent.plans p on p.id = d.plan_id)
    select id, plan_id, status from done`);
}

/** Todos this transaction changed (now() is the transaction's start): the cron's follow-ups find them so. */
export const changedNow = (column: "id" | "plan_id") => sql.raw(`select ${column} from agent.todos where updated_at = now()`);
