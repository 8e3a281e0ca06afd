import { describe, expect, it } from "vitest";
import { fireWorkflowSchedules, SCHEDULE_CATCH_UP_MS } from "../../src/factory/workflow-schedules";
import { seedTenant } from "./factory-helpers";
import { ended } from "./factory-workflow-helpers";
import { countDsl, deactivateWorkflow, defineWorkflow, instancesOf, uniqueName } from "./factory-workflow-trigger-helpers";
import { testEnv } from "./helpers";

/**
 * Schedule triggers through the minute cron's job (src/factory/workflow-schedules.ts), called with
 * the tick times a late or doubled cron would pass. Each test's cron names one minute of the year
 * (its slot, a minute or two ahead), so ticks of other tests never fire it.
 */

const MINUTE = 60_000;

/** The first whole minute at least two minutes ahead: activation happens before it. */
const nextSlot = () => new Date(Math.ceil(Date.now() / MINUTE) * MINUTE + 2 * MINUTE);

/** A cron that fires at `slot` once a year, read in a zone `offsetMinutes` from UTC (at that date). */
function cronAt(slot: Date, offsetMinutes = 0): string {
  const local = new Date(slot.getTime() + offsetMinutes * MINUTE);
  return `${local.getUTCMinutes()} ${local.getUTCHours()} ${local.getUTCDate()} ${local.getUTCMonth() + 1} *`;
}

const tick = (at: number) => fireWorkflowSchedules(testEnv, at);

describe("workflow schedule triggers", () => {
  it("two ticks racing for one slot start one instance, as the workflow's creator, with the slot in its metadata", async () => {
    const { admin } = await seedTenant();
    const slot = nextSlot();
    const wf = await defineWorkflow(admin, countDsl(uniqueName("sched")), { type: "schedule", cron: cronAt(slot) });
    const reports = await Promise.all([tick(slot.getTime() + 30_000), tick(slot.getTime() + 30_000)]);
    expect(reports.every((r) => typeof r.claimed === "number")).toBe(true);
    const items = await instancesOf(admin, wf.id);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ triggerType: "schedule", triggeredBy: null, metadata: { trigger: { slot_at: slot.toISOString(), cron: cronAt(slot), timezone: "UTC" }, workflow_active: true } });
    const done = await ended(admin, items[0].id);
    expect(done.status, JSON.stringify(done.logs)).toBe("COMPLETED");
    expect(done.runtimeContext.variables.nodes.count.result).toEqual({ n: 0 });
    // Ticks that overlap a minute later see the slot claimed.
    await Promise.all([tick(slot.getTime() + 90_000), tick(slot.getTime() + 95_000)]);
    expect(await instancesOf(admin, wf.id)).toHaveLength(1);
    await deactivateWorkflow(admin, wf.id);
  });

  it("a late tick fires the missed slot once; a slot older than the catch-up window is not replayed", async () => {
    const { admin } = await seedTenant();
    const slot = nextSlot();
    const late = await defineWorkflow(admin, countDsl(uniqueName("late")), { type: "schedule", cron: cronAt(slot) });
    const missed = await defineWorkflow(admin, countDsl(uniqueName("missed")), { type: "schedule", cron: cronAt(new Date(slot.getTime() + MINUTE)) });
    // The ticks of slot and slot+1 never ran; the next one is 3 minutes late.
    await tick(slot.getTime() + 3 * MINUTE + 20_000);
    const fired = await instancesOf(admin, late.id);
    expect(fired.map((i) => i.metadata.trigger.slot_at)).toEqual([slot.toISOString()]);
    expect(await instancesOf(admin, missed.id)).toHaveLength(1);
    await tick(slot.getTime() + 4 * MINUTE);
    expect(await instancesOf(admin, late.id)).toHaveLength(1);
    expect(await instancesOf(admin, missed.id)).toHaveLength(1);

    // A schedule whose only slot lies further back than the window when the first tick comes.
    const stale = await defineWorkflow(admin, countDsl(uniqueName("stale")), { type: "schedule", cron: cronAt(slot) });
    await tick(slot.getTime() + SCHEDULE_CATCH_UP_MS + 30_000);
    expect(await instancesOf(admin, stale.id)).toHaveLength(0);
    for (const wf of [late, missed, stale]) await deactivateWorkflow(admin, wf.id);
  });

  it("reads the cron in the trigger's time zone (Asia/Kolkata, UTC+05:30)", async () => {
    const { admin } = await seedTenant();
    const slot = nextSlot();
    const local = cronAt(slot, 330);
    const kolkata = await defineWorkflow(admin, countDsl(uniqueName("ist")), { type: "schedule", cron: local, timezone: "Asia/Kolkata" });
    const utc = await defineWorkflow(admin, countDsl(uniqueName("utc")), { type: "schedule", cron: local });
    await tick(slot.getTime() + 10_000);
    const items = await instancesOf(admin, kolkata.id);
    expect(items).toHaveLength(1);
    expect(items[0].metadata.trigger).toEqual({ slot_at: slot.toISOString(), cron: local, timezone: "Asia/Kolkata" });
    // The same expression read in UTC is 5 h 30 min away.
    expect(await instancesOf(admin, utc.id)).toHaveLength(0);
    for (const wf of [kolkata, utc]) await deactivateWorkflow(admin, wf.id);
  });

  it("fires no disabled trigger, no inactive version, and no slot before the version was activated", async () => {
    const { admin } = await seedTenant();
    const slot = nextSlot();
    const disabled = await defineWorkflow(admin, countDsl(uniqueName("off")), { type: "schedule", cron: cronAt(slot), enabled: false });
    const inactive = await defineWorkflow(admin, countDsl(uniqueName("idle")), { type: "schedule", cron: cronAt(slot) }, { activate: false });
    // Activated after its slot passed: the tick is within the window, but the slot came first.
    const past = new Date(Math.floor(Date.now() / MINUTE) * MINUTE);
    const afterwards = await defineWorkflow(admin, countDsl(uniqueName("after")), { type: "schedule", cron: cronAt(past) });
    await tick(slot.getTime() + 10_000);
    for (const wf of [disabled, inactive, afterwards]) expect(await instancesOf(admin, wf.id)).toHaveLength(0);
    for (const wf of [disabled, afterwards]) await deactivateWorkflow(admin, wf.id);
  });
});
