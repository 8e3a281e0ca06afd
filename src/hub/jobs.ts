import { sql } from "drizzle-orm";
import { servicePrincipal } from "../platform/auth";
import type { Bindings } from "../platform/context";
import { backgroundDatabase, runAs, type Database } from "../platform/db";
import { log } from "../platform/log";
import { ensurePartitions } from "./event-sql";
import { toPgTimestamp } from "./pg-time";
import { runTaskStatement, type ClaimedTask } from "./reports";
import { nextRunAt, type ScheduleType } from "./schedule";

/**
 * The hub's cron jobs (docs/hub.md, "Jobs"). They run as the service principal: role `service`,
 * which the hub's RLS policies let see every row and which the API refuses in tokens, so only
 * code running here can hold it. Each job is idempotent and safe when two runs overlap, and
 * returns what it did. `scheduledTime` is "now" for every rule, which also lets tests run a job
 * as of another day.
 */
export const HUB_SERVICE = servicePrincipal("00000000-0000-4000-8000-000000000004");

export const PARTITION_MONTHS_AHEAD = 6;
/** How long a claimed task stays claimed: a run that dies is retried after this. */
const CLAIM_LEASE_MS = 5 * 60_000;
const CLAIM_BATCH = 50;
const RUN_CONCURRENCY = 4;

const jobDb = (env: Bindings, job: string): Database => backgroundDatabase(env, `job-hub-${job}`).db;

const utcDate = (t: Date) => t.toISOString().slice(0, 10);

/** §5.2: this month and the next six exist (each creation takes a per-month advisory lock). */
export async function createPartitionsAhead(env: Bindings, scheduledTime: number) {
  const db = jobDb(env, "partitions");
  const now = new Date(scheduledTime);
  const months = Array.from({ length: PARTITION_MONTHS_AHEAD + 1 }, (_, i) =>
    utcDate(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1))),
  );
  const [result] = await runAs(db, HUB_SERVICE, [
    ensurePartitions(db, months),
  ] as const);
  return { through: months.at(-1)!.slice(0, 7), created: result.rows[0]?.created ?? [] };
}

/** §5.1/§8.2: months before the month two years back leave the live table for the archive schema. */
export async function archiveOldPartitions(env: Bindings, scheduledTime: number) {
  const db = jobDb(env, "archive");
  const [result] = await runAs(db, HUB_SERVICE, [
    db.execute<{ archived: string[] }>(sql`select hub.archive_old_learning_history_partitions(${utcDate(new Date(scheduledTime))}::date) as archived`),
  ] as const);
  return { archived: result.rows[0]?.archived ?? [] };
}

/** §8.3: students created more than five years ago are anonymized (already anonymized ones are skipped). */
export async function anonymizeOldStudents(env: Bindings, scheduledTime: number) {
  const db = jobDb(env, "anonymize");
  const [, result] = await runAs(db, HUB_SERVICE, [
    // Serializes overlapping runs; the update itself skips rows a concurrent run already changed.
    db.execute(sql`select pg_advisory_xact_lock(hashtext('hub.jobs'), hashtext('anonymize'))`),
    db.execute<{ n: number }>(sql`select hub.anonymize_old_students(${utcDate(new Date(scheduledTime))}::date) as n`),
  ] as const);
  return { anonymized: Number(result.rows[0]?.n ?? 0) };
}

/** §8.1: completed scheduled tasks go a year after they last ran (or were created, if never). */
export async function purgeCompletedTasks(env: Bindings, scheduledTime: number) {
  const db = jobDb(env, "purge-tasks");
  const cutoff = new Date(scheduledTime);
  cutoff.setUTCFullYear(cutoff.getUTCFullYear() - 1);
  const [, result] = await runAs(db, HUB_SERVICE, [
    db.execute(sql`select pg_advisory_xact_lock(hashtext('hub.jobs'), hashtext('purge-tasks'))`),
    db.execute<{ id: string }>(sql`
      delete from hub.scheduled_tasks
      where status = 'completed' and coalesce(last_run_at, created_at) < ${toPgTimestamp(cutoff)}::timestamp
      returning id`),
  ] as const);
  return { deleted: result.rows.length };
}

type ClaimRow = {
  id: string;
  run_id: string;
  student_id: string | null;
  task_type: string;
  schedule_type: ScheduleType;
  cron_expression: string | null;
  interval_seconds: number | null;
  config: Record<string, unknown>;
  due_at: string;
};

/**
 * Every minute: claims due tasks atomically and runs them. The claim is one UPDATE over a
 * `FOR UPDATE SKIP LOCKED` selection that moves next_run_at a lease ahead and stamps a fresh run
 * id in celery_task_id, so an overlapping tick neither waits for nor sees those tasks. Each task
 * then runs in its own transaction: its report row, last_run_at, the next run (or completed, for
 * one_time), guarded by its run id so a run whose lease expired cannot overwrite a newer claim.
 * A run that fails keeps its lease and is retried when the lease ends.
 */
export async function runDueTasks(env: Bindings, scheduledTime: number) {
  const db = jobDb(env, "tasks");
  const now = new Date(scheduledTime);
  const [claim] = await runAs(db, HUB_SERVICE, [
    db.execute<ClaimRow>(sql`
      with due as (
        select id, next_run_at from hub.scheduled_tasks
        where status = 'active' and next_run_at <= ${toPgTimestamp(now)}::timestamp
        order by next_run_at
        limit ${CLAIM_BATCH}
        for update skip locked
      )
      update hub.scheduled_tasks t
      set next_run_at = ${toPgTimestamp(new Date(now.getTime() + CLAIM_LEASE_MS))}::timestamp, celery_task_id = gen_random_uuid()::text
      from due
      where t.id = due.id
      returning t.id, t.celery_task_id as run_id, t.student_id, t.task_type, t.schedule_type, t.cron_expression,
                t.interval_seconds, t.config, due.next_run_at::text as due_at`),
  ] as const);

  const claimed = claim.rows;
  const ran: string[] = [];
  const failed: string[] = [];
  const queue = [...claimed];
  await Promise.all(
    Array.from({ length: Math.min(RUN_CONCURRENCY, queue.length) }, async () => {
      for (let row = queue.shift(); row; row = queue.shift()) {
        try {
          await runOne(db, row, now);
          ran.push(row.id);
        } catch (err) {
          failed.push(row.id);
          log("error", "hub task run failed; retried when its claim expires", { taskId: row.id, runId: row.run_id, error: String(err) });
        }
      }
    }),
  );
  return { claimed: claimed.length, ran: ran.length, failed: failed.length, runs: claimed.map((r) => ({ taskId: r.id, runId: r.run_id })) };
}

async function runOne(db: Database, row: ClaimRow, now: Date) {
  const task: ClaimedTask = { id: row.id, runId: row.run_id, studentId: row.student_id, taskType: row.task_type, config: row.config, dueAt: row.due_at };
  const next = nextRunAt(
    { scheduleType: row.schedule_type, cronExpression: row.cron_expression, intervalSeconds: row.interval_seconds },
    now,
    false,
  );
  await runAs(db, HUB_SERVICE, [
    db.execute(runTaskStatement(task, now)),
    db.execute(sql`
      update hub.scheduled_tasks
      set last_run_at = ${toPgTimestamp(now)}::timestamp,
          next_run_at = ${next ? toPgTimestamp(next) : null}::timestamp,
          status = case when schedule_type = 'one_time' then 'completed' else status end
      where id = ${row.id}::uuid and celery_task_id = ${row.run_id}`),
  ] as const);
}
