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

/** Jobs by cron expression; each system adds its own list here. */
export const jobs: Record<string, ScheduledJob[]> = {};
// Outbox relay (src/platform/relay.ts): every system's events reach the queue within a minute.
(jobs[EVERY_MINUTE] ??= []).push(relayOutboxJob);
(jobs[DAILY] ??= []).push(pruneOutboxJob);
// Learning analytics (src/seedtest/jobs.ts): daily topic features from the hub's learning history.
(jobs[DAILY] ??= []).push(...seedtestDailyJobs);
// Exam labs (src/exam/jobs.ts): idle-session sweep; policy-audit retention.
(jobs[EVERY_MINUTE] ??= []).push(...examEveryMinuteJobs);
(jobs[DAILY] ??= []).push(...examDailyJobs);
// Student hub (src/hub/jobs.ts): scheduled-task runner; partitions ahead, archive, anonymize, task purge.
(jobs[EVERY_MINUTE] ??= []).push(...hubMinuteJobs);
(jobs[DAILY] ??= []).push(...hubDailyJobs);

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
