import { sql } from "drizzle-orm";
import { servicePrincipal } from "../platform/auth";
import type { Bindings } from "../platform/context";
import { backgroundDatabase, runAs } from "../platform/db";
import { log } from "../platform/log";
import { workflowInstances as I, workflows as W } from "./schema";
import { instanceEndEvents } from "./workflow-events";
import { workflowBinding } from "./workflow-start";

/** The sweep's service identity (role `service`, which tokens can never carry). */
const SWEEP_PRINCIPAL = servicePrincipal("a9e47000-0000-4000-8000-00000000f314");
/**
 * The engine times a running instance out itself, at its deadline; the sweep takes what it cannot:
 * instances PAUSED or WAITING past their deadline, or whose Workflows instance stopped. It waits
 * this much past the deadline first, so the engine's own TIMEOUT (with compensation) wins the race.
 */
const GRACE_SECONDS = 60;
const BATCH = 100;

/**
 * Every minute: instances that have not ended past started_at + the workflow's timeout_seconds
 * (the definition's, else the row's) + GRACE_SECONDS become TIMEOUT in one conditional statement
 * (overlapping runs claim each row once), each sending workflow.failed (workflow-events.ts), then
 * their Workflows instances are terminated.
 */
export async function sweepWorkflowTimeouts(env: Bindings): Promise<Record<string, unknown>> {
  const { db } = backgroundDatabase(env, "job-factory-workflow-timeouts");
  const [timedOut] = await runAs(db, SWEEP_PRINCIPAL, [
    db.execute<{ id: string }>(sql`
      with ended as (update ${I} i set status = 'TIMEOUT', error_code = 'TIMEOUT', ended_at = now(),
        last_error = format('the instance ran past its %s s timeout', coalesce((w.dsl_json ->> 'timeout_seconds')::int, w.timeout_seconds)),
        duration_ms = (extract(epoch from now() - i.started_at) * 1000)::int
      from ${W} w
      where w.id = i.workflow_id and i.id in (
        select x.id from ${I} x join ${W} y on y.id = x.workflow_id
        where x.status in ('PENDING', 'RUNNING', 'WAITING', 'PAUSED')
          and x.started_at + make_interval(secs => coalesce((y.dsl_json ->> 'timeout_seconds')::int, y.timeout_seconds) + ${GRACE_SECONDS}) < now()
        order by x.started_at limit ${BATCH} for update of x skip locked)
      returning i.*),
      events as (${instanceEndEvents(sql`ended`)})
      select id from ended`),
  ] as const);
  let terminated = 0;
  for (const { id } of timedOut.rows) {
    try {
      await (await workflowBinding(env).get(id)).terminate();
      terminated++;
    } catch (err) {
      // Already ended (errored, complete) or never created: the row is what counts.
      log("warn", "timed-out workflow instance not terminated", { instanceId: id, error: String(err) });
    }
  }
  return { timedOut: timedOut.rows.length, terminated };
}
