import { sql, type SQL } from "drizzle-orm";
import type { Database } from "../platform/db";
import { EDITABLE } from "./plan-sql";

/**
 * Replacing a plan's todo set in one batch (docs/agent.md, "Editing"): the Worker has checked and
 * ordered the todos given (plan-build.ts proposeTodos); the database, which knows which todos are
 * completed, keeps those and writes the version, all guarded on the version it read in the same
 * statement. The todo statements after it then work from the version this batch wrote.
 */
export interface EditSource {
  planId: SQL;
  /** jsonb array of ProposedTodo, in their execution order among themselves; null writes nothing. */
  proposed: SQL;
  changeType: SQL;
  changeReason: SQL;
  /** A condition on tools row `t` for a tool a new todo may call (active; for an event, unchanged since it was opened). */
  toolUsable: SQL;
}

/** The current version's todos that are completed, as its snapshot holds them: the kept ones. */
const keptOf = (planId: SQL) => sql`
  select e.value || '{"status": "completed"}'::jsonb as entry, e.value->>'key' as key, (e.value->>'executionOrder')::int as old_order
  from agent.plans p
  join agent.plan_versions v on v.plan_id = p.id and v.version = p.current_version
  cross join jsonb_array_elements(v.todos_snapshot) e
  join agent.todos t on t.id = (e.value->>'id')::uuid and t.plan_id = p.id and t.status = 'completed'
  where p.id = ${planId}`;

/** Tools the proposal's new todos (not kept) call that the caller may not use now. */
const unusableTools = (s: EditSource) => sql`
  select distinct g.todo->>'toolName' as name from given g
  where g.todo->>'toolName' is not null and g.key not in (select key from kept)
    and not exists (select 1 from agent.tools t where t.name = g.todo->>'toolName' and ${s.toolUsable})`;

/** Dependencies naming neither a todo given nor a kept one. */
const unknownDependencies = sql`
  select g.key, d.dep from given g cross join jsonb_array_elements_text(g.todo->'dependsOn') d(dep)
  where d.dep not in (select key from given) and d.dep not in (select key from kept)`;

const givenOf = (proposed: SQL) => sql`select g.value as todo, g.value->>'key' as key from jsonb_array_elements(${proposed}) g`;

/**
 * The edit: completed todos are kept (same id, status, fields); those the set leaves out come first,
 * in their old order, keeping their dependencies among themselves; the todos given follow in their
 * own order, a given todo with a kept todo's key being that kept todo placed as given. `blocks` is
 * then the inverse of every `dependsOn`. Bumps the plan, resets its counters and writes the version;
 * matches nothing unless the plan is editable at the version read, no todo is in progress, every
 * dependency exists and every new todo's tool is usable.
 */
export function writeEdit(db: Database, s: EditSource, changedBy: string) {
  return db.execute<{ version: number }>(sql`
    with plan as (select p.id, p.current_version from agent.plans p where p.id = ${s.planId}),
    kept as (${keptOf(s.planId)}),
    given as (${givenOf(s.proposed)}),
    left_out as (
      select k.key, k.entry || jsonb_build_object(
               'dependsOn', coalesce((select jsonb_agg(d.dep) from jsonb_array_elements_text(k.entry->'dependsOn') d(dep)
                                      where d.dep in (select key from kept) and d.dep not in (select key from given)), '[]'::jsonb),
               'executionOrder', row_number() over (order by k.old_order)) as entry
      from kept k where k.key not in (select key from given)),
    placed as (
      select g.key, case when k.entry is null
               then g.todo || jsonb_build_object('id', gen_random_uuid(), 'status', 'pending')
               else k.entry || jsonb_build_object('dependsOn', g.todo->'dependsOn') end
             || jsonb_build_object('executionOrder', (g.todo->>'executionOrder')::int + (select count(*) from left_out)) as entry
      from given g left join kept k on k.key = g.key),
    todo_set as (select key, entry from left_out union all select key, entry from placed),
    snapshot as (
      select n.entry || jsonb_build_object('blocks', coalesce((select jsonb_agg(d.key order by (d.entry->>'executionOrder')::int) from todo_set d
                                                                where d.entry->'dependsOn' @> jsonb_build_array(n.key)), '[]'::jsonb)) as entry
      from todo_set n),
    bumped as (
      update agent.plans p set current_version = plan.current_version + 1,
             total_todos = (select count(*) from todo_set), completed_todos = (select count(*) from kept), failed_todos = 0,
             status = case when p.status = 'approved' then 'draft' else p.status end, updated_at = now()
      from plan
      where p.id = plan.id and p.current_version = plan.current_version
        and p.status in (select jsonb_array_elements_text(${JSON.stringify(EDITABLE)}::jsonb))
        and exists (select 1 from given)
        and not exists (select 1 from agent.todos t where t.plan_id = p.id and t.status = 'in_progress')
        and not exists (${unknownDependencies})
        and not exists (${unusableTools(s)})
      returning p.id, p.current_version, p.organization_id)
    insert into agent.plan_versions (plan_id, version, todos_snapshot, change_type, change_reason, changed_by, organization_id)
    select b.id, b.current_version, (select jsonb_agg(entry order by (entry->>'executionOrder')::int) from snapshot),
           ${s.changeType}, ${s.changeReason}, ${changedBy}, b.organization_id
    from bumped b
    returning version`);
}

/** The version this batch wrote (created now), as key → entry rows; empty when writeEdit matched nothing. */
const written = (planId: SQL) => sql`
  select e.value as entry, e.value->>'key' as key, (e.value->>'id')::uuid as id
  from agent.plans p
  join agent.plan_versions v on v.plan_id = p.id and v.version = p.current_version and v.created_at = now()
  cross join jsonb_array_elements(v.todos_snapshot) e
  where p.id = ${planId}`;

/** The ids of an entry's keys (dependsOn or blocks) in the written version, in their order. */
const idsOf = (list: SQL) => sql`array(select w2.id from jsonb_array_elements_text(${list}) with ordinality k(key, n) join written w2 on w2.key = k.key order by k.n)`;

/**
 * The todo rows follow the version writeEdit wrote: replaced todos go (their results cascade; their
 * tool runs stay in the log, detached, as tool_executions.todo_id has no cascade), kept ones take
 * their new place, new ones are inserted. Each statement does nothing when no version was written.
 */
export function applyWrittenEdit(db: Database, planId: SQL) {
  return [
    db.execute(sql`
      with written as (${written(planId)})
      update agent.tool_executions set todo_id = null
      where exists (select 1 from written)
        and todo_id in (select t.id from agent.todos t where t.plan_id = ${planId} and t.id not in (select id from written))`),
    db.execute(sql`
      with written as (${written(planId)})
      delete from agent.todos t where exists (select 1 from written) and t.plan_id = ${planId} and t.id not in (select id from written)`),
    db.execute(sql`
      with written as (${written(planId)})
      update agent.todos t set depends_on = ${idsOf(sql`w.entry->'dependsOn'`)}, blocks = ${idsOf(sql`w.entry->'blocks'`)},
             execution_order = (w.entry->>'executionOrder')::int, updated_at = now()
      from written w where t.id = w.id and t.plan_id = ${planId} and t.status = 'completed'`),
    db.execute(sql`
      with written as (${written(planId)})
      insert into agent.todos (id, plan_id, title, description, priority, layer, tool_name, tool_params, depends_on, blocks,
                               timeout_seconds, max_retries, requires_approval, input_data, execution_order, organization_id)
      select w.id, p.id, w.entry->>'title', w.entry->>'description', (w.entry->>'priority')::int, w.entry->>'layer', w.entry->>'toolName',
             w.entry->'toolParams', ${idsOf(sql`w.entry->'dependsOn'`)}, ${idsOf(sql`w.entry->'blocks'`)},
             (w.entry->>'timeoutSeconds')::int, (w.entry->>'maxRetries')::int, (w.entry->>'requiresApproval')::boolean,
             nullif(w.entry->'inputData', 'null'::jsonb), (w.entry->>'executionOrder')::int, p.organization_id
      from written w join agent.plans p on p.id = ${planId}
      where w.entry->>'status' = 'pending'`),
  ] as const;
}

/** Why an edit matched nothing, read in the same batch: the plan's state, and the proposal's faults against it. */
export function editVerdict(db: Database, s: EditSource) {
  return db.execute<{ status: string; in_progress: boolean; unknown: { key: string; dep: string }[]; tools: string[] }>(sql`
    with kept as (${keptOf(s.planId)}), given as (${givenOf(s.proposed)})
    select p.status,
           exists (select 1 from agent.todos t where t.plan_id = p.id and t.status = 'in_progress') as in_progress,
           coalesce((select jsonb_agg(jsonb_build_object('key', u.key, 'dep', u.dep)) from (${unknownDependencies}) u), '[]'::jsonb) as unknown,
           coalesce((select jsonb_agg(u.name) from (${unusableTools(s)}) u), '[]'::jsonb) as tools
    from agent.plans p where p.id = ${s.planId}`);
}
