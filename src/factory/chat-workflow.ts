import { sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { canonicalize } from "../platform/canonical-json";
import type { Database } from "../platform/db";
import { ApiError } from "../platform/problem";
import type { FactoryAccess } from "./access";
import { periodSql, tenantZone } from "./chat-dates";
import type { Classification, Slots } from "./chat-intents";
import { byName, fixedReply, type Reply } from "./chat-replies";
import { startAsCaller } from "./workflow-start";

/**
 * run_workflow: the chat starts the tenant's active version of the workflow the message names,
 * through the execute route's own code (startAsCaller: factory.authorize('workflow:execute') in
 * the batch, the row inserted only when the input fits variables.input). The input is the
 * message's slots line_code, date_range ({start, end}, resolved in the tenant's zone), kpi and
 * threshold, each given to the declared input variable of the same name and to no other.
 * Anything that stops the start (no such workflow, only inactive versions, no workflow:execute,
 * inputs missing or invalid) is answered, and nothing but the turn is written.
 */

/** The execute route's permission: asking in chat does not widen what the caller may start. */
const EXECUTE: FactoryAccess = { "x-permission": "workflow:execute" };

/** The slots a workflow's input may take, by the name of the input variable they fill. */
export const INPUT_SLOTS = ["line_code", "date_range", "kpi", "threshold"] as const;

export type NamedWorkflow = {
  id: string;
  name: string;
  version: number;
  is_active: boolean;
  may_execute: boolean;
  /** The slots said, date_range resolved: what the input was made from. */
  slots: Record<string, unknown>;
  /** The slots the workflow declares an input variable for. */
  input: Record<string, unknown>;
  /** Required input variables without a default that no slot fills. */
  missing: string[];
  /** factory.workflow_input_problem() of that input: [path, message], or null when it fits. */
  problem: [string, string] | null;
};

export interface WorkflowLookup {
  /** The name and slots the lookup was made for, to tell whether another reading may reuse it. */
  for: Classification;
  found: NamedWorkflow | null;
}

/**
 * The workflow a message names, read with the turn's first read: the exact name (any case) first,
 * else the first name containing it; of one name, the active version, else the newest. Whether the
 * caller holds workflow:execute (factory.has_permission, the definition factory.authorize() uses),
 * and the input the slots make with what it lacks, checked by the function the start uses.
 */
export function namedWorkflow(db: Database, c: Classification) {
  const name = c.slots.workflow ?? "";
  const match = byName(sql`w.name`, name);
  const said = c.slots.date_range;
  const period = said ? periodSql(said, sql`today.d`) : null;
  const range = period ? sql`jsonb_build_object('start', to_char(${period.start}, 'YYYY-MM-DD'), 'end', to_char(${period.end}, 'YYYY-MM-DD'))` : sql`null::jsonb`;
  const vars = sql`coalesce(w.dsl_json #> '{variables,input}', '{}'::jsonb)`;
  return db.execute<NamedWorkflow>(sql`
    with zone as (${tenantZone}),
    today as (select (now() at time zone zone.tz)::date as d from zone),
    s as (select jsonb_strip_nulls(jsonb_build_object('line_code', ${c.slots.line_code ?? null}::text, 'kpi', ${c.slots.kpi ?? null}::text, 'threshold', ${c.slots.threshold ?? null}::float8, 'date_range', ${range})) as slots from today)
    select w.id, w.name, w.version, w.is_active, factory.has_permission('workflow:execute') as may_execute, s.slots, m.input,
      array(select v.key from jsonb_each(${vars}) v
            where coalesce(v.value->>'required', 'false') = 'true' and not v.value ? 'default' and not m.input ? v.key order by v.key) as missing,
      factory.workflow_input_problem(w.dsl_json, m.input) as problem
    from s cross join factory.workflows w
    cross join lateral (select coalesce(jsonb_object_agg(x.key, x.value) filter (where ${vars} ? x.key), '{}'::jsonb) as input from jsonb_each(s.slots) x) m
    where w.tenant_id = factory.caller_tenant() and ${name}::text <> '' and ${match.where}
    order by ${match.order}, w.is_active desc, w.version desc limit 1`);
}

const inputSlots = (slots: Slots) => Object.fromEntries(INPUT_SLOTS.filter((k) => slots[k] !== undefined).map((k) => [k, slots[k]]));

/**
 * Whether a lookup made for one reading (the rules', before the LLM answered) serves `c`: the same
 * name, and the same input slots as resolved (the LLM's dates are resolved already).
 */
export function lookupServes(lookup: WorkflowLookup | undefined, c: Classification): boolean {
  if (!lookup || lookup.for.slots.workflow !== c.slots.workflow) return false;
  return lookup.for === c || !lookup.found || canonicalize(inputSlots(c.slots)) === canonicalize(lookup.found.slots);
}

const FOLLOW = (id: string) => `/api/v1/factory/workflows/instances/${id}`;

/** Starts the workflow the lookup found, or says why not; `ids` tie the instance to the turn. */
export async function workflowFromChat(c: Context<AppEnv>, cl: Classification, lookup: WorkflowLookup, ids: { session: string; intent: string }): Promise<Reply> {
  const ko = cl.lang === "ko";
  const name = cl.slots.workflow!;
  const w = lookup.found;
  const reply = (text: string, data: Record<string, unknown>) => fixedReply("run_workflow", text, { workflow: name, ...data });
  if (!w) return reply(ko ? `"${name}" 워크플로우를 찾지 못했습니다. 아무것도 시작하지 않았습니다.` : `No workflow is named "${name}". Nothing was started.`, { status: "not_found" });
  const found = { id: w.id, name: w.name, version: w.version };
  if (!w.is_active) {
    return reply(
      ko ? `워크플로우 ${w.name}에 활성 버전이 없습니다 (최신 버전 ${w.version}, 비활성). 활성화한 뒤 다시 요청하세요.` : `Workflow ${w.name} has no active version (newest: version ${w.version}, inactive). Activate a version and ask again.`,
      { status: "inactive", found },
    );
  }
  if (!w.may_execute) {
    return reply(
      ko ? `워크플로우 ${w.name}을(를) 시작할 권한(workflow:execute)이 없습니다. 시작하지 않았습니다.` : `You lack the workflow:execute permission, so workflow ${w.name} was not started.`,
      { status: "refused", code: "permission_missing", permission: EXECUTE["x-permission"], found },
    );
  }
  if (w.missing.length) {
    const list = w.missing.join(", ");
    return reply(
      ko ? `워크플로우 ${w.name}을(를) 시작하려면 입력이 더 필요합니다: ${list}. 메시지에 함께 알려 주세요 (채팅이 채우는 입력: ${INPUT_SLOTS.join(", ")}).` : `Workflow ${w.name} needs more input to start: ${list}. Say it in the message (the chat fills the inputs ${INPUT_SLOTS.join(", ")}).`,
      { status: "missing_input", missing: w.missing, input: w.input, found },
    );
  }
  if (w.problem) return invalid(reply, ko, w.name, w.problem[0], w.problem[1], { input: w.input, found });
  try {
    const row = await startAsCaller(c, EXECUTE, { workflowId: w.id, input: w.input, triggerType: "manual", metadata: { source: "chat", chat_session_id: ids.session, intent_log_id: ids.intent } });
    const follow = FOLLOW(row.id);
    return reply(
      ko ? `워크플로우 ${w.name} (버전 ${w.version})을(를) 시작했습니다. 인스턴스 ${row.id}, 상태 ${row.status}. 진행 상황: GET ${follow}` : `Started workflow ${w.name} (version ${w.version}): instance ${row.id}, status ${row.status}. Follow it with GET ${follow}.`,
      { status: "started", instance_id: row.id, instance_status: row.status, trigger_type: row.triggerType, trace_id: row.traceId, input: row.inputContext, follow, found },
    );
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const field = (err.extensions as { errors?: { path?: string; message?: string }[] } | undefined)?.errors?.[0];
    if (err.code === "validation_failed" && field?.path) return invalid(reply, ko, w.name, field.path.replace(/^json\./, ""), field.message ?? err.message, { input: w.input, found });
    return reply(ko ? `워크플로우 ${w.name}을(를) 시작하지 못했습니다: ${err.message}` : `Workflow ${w.name} was not started: ${err.message}`, { status: "refused", code: err.code, found });
  }
}

function invalid(reply: (text: string, data: Record<string, unknown>) => Reply, ko: boolean, name: string, path: string, message: string, data: Record<string, unknown>) {
  return reply(ko ? `워크플로우 ${name}의 입력이 맞지 않습니다: ${path} ${message}. 시작하지 않았습니다.` : `The input does not fit workflow ${name}: ${path} ${message}. Nothing was started.`, { status: "invalid_input", path, message, ...data });
}
