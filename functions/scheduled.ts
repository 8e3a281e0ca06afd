import type { Bindings } from "../src/platform/context";
import { log } from "../src/platform/log";
import { pruneOutboxJob, relayOutboxJob } from "../src/platform/relay";
import { DAILY, EVERY_MINUTE, type ScheduledJob, type System } from "../src/platform/system";

/** The platform's own jobs: the served systems' events reach the queue, and published ones are forgotten. */
function platformJobs(systems: readonly System[]): Record<string, ScheduledJob[]> {
  return {
    [EVERY_MINUTE]: [relayOutboxJob(systems.map((s) => s.name))],
    [DAILY]: [pruneOutboxJob],
  };
}

/** The jobs due for a cron: the platform's, then each served system's, in registry order. */
export function jobsFor(systems: readonly System[], cron: string): ScheduledJob[] {
  return [...(platformJobs(systems)[cron] ?? []), ...systems.flatMap((s) => s.jobs?.[cron as keyof typeof s.jobs] ?? [])];
}

export async function handleScheduled(systems: readonly System[], controller: ScheduledController, env: Bindings, ctx: ExecutionContext): Promise<void> {
  const due = jobsFor(systems, controller.cron);
  if (!due.length) log("warn", "no job registered for cron", { cron: controller.cron });
  for (const job of due) {
    ctx.waitUntil(
      job(env, controller.scheduledTime).then(
        (report) => log("info", "scheduled job done", { cron: controller.cron, job: job.name, ...report }),
        (err) => log("error", "scheduled job failed", { cron: controller.cron, job: job.name, error: String(err) }),
      ),
    );
  }
}
