import type { Bindings } from "../src/platform/context";
import { log } from "../src/platform/log";
import { DAILY, EVERY_MINUTE, type ScheduledJob, type System } from "../src/platform/system";

/**
 * The jobs due for a cron: the platform's own (the served systems' events reach the queue, published
 * ones are forgotten), then each served system's, in registry order. Loads what it runs.
 */
export async function jobsFor(systems: readonly System[], cron: string): Promise<ScheduledJob[]> {
  const [{ pruneOutboxJob, relayOutboxJob }, parts] = await Promise.all([import("../src/platform/relay"), Promise.all(systems.map((s) => s.load()))]);
  const platform: Record<string, ScheduledJob[]> = {
    [EVERY_MINUTE]: [relayOutboxJob(systems.map((s) => s.name))],
    [DAILY]: [pruneOutboxJob],
  };
  return [...(platform[cron] ?? []), ...parts.flatMap((p) => p.jobs?.[cron as keyof typeof p.jobs] ?? [])];
}

export async function handleScheduled(systems: readonly System[], controller: ScheduledController, env: Bindings, ctx: ExecutionContext): Promise<void> {
  const due = await jobsFor(systems, controller.cron);
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
