import { sql, type SQL } from "drizzle-orm";
import type { Database } from "../platform/db";
import { outboxEvents } from "../platform/outbox";
import { judgmentExecutions, workflowInstances, workflows } from "./schema";

/**
 * The factory events event-triggered workflows start on (docs/factory-workflows.md, "Triggers"):
 * outbox rows of system `factory` whose event_type is the event's name, written by the statement
 * that causes them, in its batch, so an event exists exactly when its cause committed (and some
 * active workflow of the tenant listens for its type). Payload:
 * `{ tenantId, depth, data }`; `data` is what an event_filter's `where` reads.
 */

/**
 * The loop guard: an instance started by an event is one deeper than the event's cause (a manual,
 * api, schedule or webhook instance, or a judgment outside any instance, is depth 0), and events
 * of depth MAX_EVENT_DEPTH start nothing. A workflow that fails on its own workflow.failed stops
 * after this many event-started generations.
 */
export const MAX_EVENT_DEPTH = 3;
/** The instance metadata key holding its depth (startInstance's metadata). */
export const DEPTH_KEY = "trigger_depth";
/** A judgment's input travels with its events only up to this size (queue messages are small). */
const EVENT_INPUT_BYTES = 8 * 1024;

/** The depth recorded in an instance's metadata, read defensively (the execute route's callers write metadata too): 0 to MAX_EVENT_DEPTH. */
const depthOf = (metadata: SQL) => {
  const key = sql.raw(`'${DEPTH_KEY}'`);
  return sql`(case when jsonb_typeof(${metadata} -> ${key}) = 'number' then least(greatest((${metadata} ->> ${key})::numeric, 0), ${sql.raw(String(MAX_EVENT_DEPTH))})::int else 0 end)`;
};

/**
 * Whether an active, enabled event-triggered workflow of the tenant listens for the event type:
 * events nobody listens for are not written (judgments are many; the queue carries what starts
 * something).
 */
const listened = (tenant: SQL, eventType: SQL) => sql`exists (select 1 from ${workflows} lw
  where lw.tenant_id = ${tenant} and lw.is_active and lw.trigger_config ->> 'type' = 'event'
    and lw.trigger_config -> 'event_filter' ->> 'event' = ${eventType} and coalesce((lw.trigger_config ->> 'enabled')::boolean, true))`;

/**
 * judgment.completed for judgment `id`, inserted earlier in the batch, and judgment.critical too
 * when its result is critical; nothing when it was not inserted (a spent quota). Its depth is its
 * instance's (a JUDGMENT node), else 0.
 */
export function judgmentEvents(db: Database, id: string, rulesetId: string | null) {
  const j = judgmentExecutions;
  return db.execute(sql`
    insert into ${outboxEvents} (id, system, event_type, actor_id, entity_id, payload)
    select gen_random_uuid(), 'factory', e.event_type, app.user_id()::text, j.id::text,
           jsonb_build_object('tenantId', j.tenant_id,
             'depth', coalesce((select ${depthOf(sql`i.metadata`)} from ${workflowInstances} i where i.id = j.workflow_instance_id), 0),
             'data', jsonb_build_object('judgment_id', j.id, 'result', j.result, 'confidence', j.confidence, 'method_used', j.method_used,
               'source', j.source, 'ruleset_id', ${rulesetId}::uuid, 'workflow_id', j.workflow_id, 'workflow_instance_id', j.workflow_instance_id,
               'cache_hit', j.cache_hit, 'input', case when octet_length(j.input_data::text) <= ${EVENT_INPUT_BYTES} then j.input_data end))
    from ${j} j cross join (values ('judgment.completed'), ('judgment.critical')) as e(event_type)
    where j.id = ${id}::uuid and (e.event_type = 'judgment.completed' or j.result = 'critical') and ${listened(sql`j.tenant_id`, sql`e.event_type`)}`);
}

/**
 * The outbox insert of an instance's end, for the rows of `ended` (a CTE of workflow_instances
 * rows as an update left them): workflow.completed for COMPLETED, workflow.failed for FAILED and
 * TIMEOUT (data.status says which); a row still live, or CANCELLED (a person's choice), sends none.
 * Like every factory event, only when some workflow listens for it.
 */
export const instanceEndEvents = (ended: SQL) => sql`
  insert into ${outboxEvents} (id, system, event_type, actor_id, entity_id, payload)
  select gen_random_uuid(), 'factory', t.event_type, app.user_id()::text, e.id::text,
         jsonb_build_object('tenantId', e.tenant_id, 'depth', ${depthOf(sql`e.metadata`)},
           'data', jsonb_build_object('instance_id', e.id, 'workflow_id', e.workflow_id, 'workflow_name', w.name, 'workflow_version', w.version,
             'status', e.status, 'error_code', e.error_code, 'error_message', left(e.last_error, 500), 'trigger_type', e.trigger_type, 'duration_ms', e.duration_ms))
  from ${ended} e join ${workflows} w on w.id = e.workflow_id
    cross join lateral (select case when e.status = 'COMPLETED' then 'workflow.completed' else 'workflow.failed' end as event_type) t
  where e.status in ('COMPLETED', 'FAILED', 'TIMEOUT') and ${listened(sql`e.tenant_id`, sql`t.event_type`)}`;
