import { servicePrincipal } from "../platform/auth";
import type { Bindings } from "../platform/context";
import { backgroundDatabase, runAs } from "../platform/db";
import { log } from "../platform/log";
import { slotsBetween } from "./cron";
import { startInstance } from "./workflow-start";
import { activeSchedules, claimScheduleSlots } from "./workflow-trigger-sql";

/**
 * The schedule trigger (docs/factory-workflows.md, "Triggers"), run by the Worker's minute cron:
 * every active, enabled schedule-triggered workflow fires once for each slot of its cron (in its
 * time zone) in the catch-up window before the tick and after its activation. A slot is claimed
 * in workflow_schedule_slots first (INSERT … ON CONFLICT DO NOTHING RETURNING), so of ticks that
 * overlap or run late exactly one starts it; the instance id is keyed by the slot too.
 */

/** The job's service identity (role `service`, which tokens can never carry). */
const SCHEDULE_PRINCIPAL = servicePrincipal("a9e47000-0000-4000-8000-00000000f316");
/**
 * How far back a tick looks: slots missed by up to this much (ticks skipped or late) still fire,
 * once; older ones are not replayed.
 */
export const SCHEDULE_CATCH_UP_MS = 5 * 60_000;

/**
 * One tick at `scheduledTime`: reads the schedules (one round trip), claims their due slots (one
 * round trip, only when some are due) and starts an instance per slot won (startInstance's).
 * Input `{}` (variables.input defaults apply); the slot is in the instance's metadata.
 */
export async function fireWorkflowSchedules(env: Bindings, scheduledTime: number): Promise<Record<string, unknown>> {
  const { db } = backgroundDatabase(env, "job-factory-workflow-schedules");
  const to = new Date(scheduledTime);
  const windowStart = scheduledTime - SCHEDULE_CATCH_UP_MS;
  const [schedules] = await runAs(db, SCHEDULE_PRINCIPAL, [activeSchedules(db)] as const);
  const due: { workflowId: string; slotAt: Date }[] = [];
  const byId = new Map(schedules.rows.map((s) => [s.id, s]));
  for (const s of schedules.rows) {
    const activated = s.activated_ms ?? windowStart;
    const from = new Date(Math.max(windowStart, activated));
    if (from >= to) continue;
    try {
      for (const slotAt of slotsBetween(s.cron, s.timezone, from, to)) due.push({ workflowId: s.id, slotAt });
    } catch (err) {
      // Checked when written; a config that no longer parses (an older zone database) skips this workflow only.
      log("error", "schedule trigger not evaluated", { workflowId: s.id, error: String(err) });
    }
  }
  if (!due.length) return { schedules: schedules.rows.length, due: 0, claimed: 0, started: 0 };
  const [claimed] = await runAs(db, SCHEDULE_PRINCIPAL, [claimScheduleSlots(db, due)] as const);
  let started = 0;
  for (const slot of claimed.rows) {
    const s = byId.get(slot.workflow_id)!;
    const slotAt = new Date(slot.slot_ms).toISOString();
    try {
      await startInstance(env, {
        tenantId: s.tenant_id,
        workflowId: s.id,
        input: {},
        triggerType: "schedule",
        triggeredBy: null,
        metadata: { trigger: { slot_at: slotAt, cron: s.cron, timezone: s.timezone } },
        idempotencyKey: `schedule:${slotAt}`,
      });
      started++;
    } catch (err) {
      // The slot stays claimed: a refusal (input the defaults do not satisfy) would repeat; a failed engine call leaves the row PENDING for the timeout sweep.
      log("error", "scheduled workflow instance not started", { workflowId: s.id, slotAt, error: String(err) });
    }
  }
  return { schedules: schedules.rows.length, due: due.length, claimed: claimed.rows.length, started };
}
