import type { Bindings } from "../src/platform/context";
import { examDailyJobs, examEveryMinuteJobs } from "../src/exam/jobs";
import { hubDailyJobs, hubMinuteJobs } from "../src/hub/jobs";
import { log } from "../src/platform/log";
import { pruneOutboxJob, relayOutboxJob } from "../src/platform/relay";
import { seedtestDailyJobs } from "../src/seedtest/jobs";

/** The crons of wrangler.toml [triggers]: every job runs on one of these. */
export const EVERY_MINUTE = "* * * * *";
export const DAILY = "0 3 * * *";

/** A job reports what it did; it must be idempotent and safe when two runs overlap. */
export type ScheduledJob = (env: Bindings, scheduledTime: number) => Promise<Record<string, unknown>>;

/**
 * Jobs by cron expression. Every minute: the outbox relay (every system's events reach the queue),
 * the exam idle-session sweep, the hub's scheduled-task runner. Daily: outbox pruning, exam audit
 * retention, the hub's partition lifecycle, seedtest's topic features.
 */
export const jobs: Record<string, ScheduledJob[]> = {
  [EVERY_MINUTE]: [relayOutboxJob, ...examEveryMinuteJobs, ...hubMinuteJobs],
  [DAILY]: [pruneOutboxJob, ...examDailyJobs, ...hubDailyJobs, ...seedtestDailyJobs],
};

export async function handleScheduled(controller: ScheduledController, env: Bindings, ctx: ExecutionContext): Promise<void> {
  const due = jobs[controller.cron] ?? [];
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
