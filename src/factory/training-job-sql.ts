import { sql } from "drizzle-orm";
import type { Database } from "../platform/db";
import { audited, type Actor } from "./audit";
import { learningJobEvent } from "./learning-jobs";
import { modelTrainingJobs as J, rulesets } from "./schema";

export interface NewJob {
  id: string;
  jobType: "rule_learning" | "llm_finetuning" | "embedding_update";
  trainingConfig: Record<string, unknown>;
  datasetSize: number | null;
  /** For rule_learning: the ruleset it learns for, which must be visible, else nothing is written. */
  rulesetId: string | null;
}

/**
 * A pending training job, audited; a rule_learning job also gets its LEARNING_JOB_CREATED event
 * (the queue runs it). Then whether the ruleset was visible, for the 404.
 */
export function insertJob(db: Database, actor: Actor, job: NewJob) {
  const change = sql`
    insert into ${J} (id, tenant_id, job_type, status, dataset_size, training_config, triggered_by)
    select ${job.id}::uuid, factory.caller_tenant(), ${job.jobType}, 'pending', ${job.datasetSize}::int, ${JSON.stringify(job.trainingConfig)}::jsonb, app.user_id()
    where ${job.rulesetId}::uuid is null or exists (select 1 from ${rulesets} rs where rs.id = ${job.rulesetId}::uuid)
    returning *`;
  return [
    audited(db, actor, { action: "create", resourceType: "model_training_job", table: J, change, where: sql`false` }),
    learningJobEvent(db, job.id),
  ] as const;
}

/** Cancels a pending or running job (a running rule_learning job's late result is then discarded). */
export function cancelJob(db: Database, actor: Actor, id: string) {
  const open = sql`${J.id} = ${id}::uuid and ${J.status} in ('pending', 'running')`;
  return [
    audited(db, actor, {
      action: "cancel",
      resourceType: "model_training_job",
      table: J,
      change: db
        .update(J)
        .set({ status: "cancelled", endedAt: sql`now()`, durationSeconds: sql`case when ${J.startedAt} is null then null else greatest(0, round(extract(epoch from now() - ${J.startedAt})))::int end` })
        .where(open)
        .returning(),
      where: open,
    }),
    db.select({ status: J.status }).from(J).where(sql`${J.id} = ${id}::uuid`),
  ] as const;
}

/** Where an external job may go from each state; cancelled, completed and failed are final. */
export const CALLBACK_MOVES = { pending: ["running", "completed", "failed"], running: ["running", "completed", "failed"] } as const;

export interface CallbackUpdate {
  jobId: string;
  status: "running" | "completed" | "failed";
  metrics: Record<string, unknown> | null;
  modelArtifactUrl: string | null;
  errorMessage: string | null;
  datasetSize: number | null;
  webhookId: string;
}

/**
 * The external system's status report (service role: the signature, not a user, vouches for it),
 * conditional on the job being an external one in a state that may move there. started_at is set
 * on the first move out of pending, ended_at and duration on a final one; metrics merge.
 */
export function applyCallback(db: Database, actor: Actor, u: CallbackUpdate) {
  const from = Object.entries(CALLBACK_MOVES).filter(([, to]) => (to as readonly string[]).includes(u.status)).map(([f]) => f);
  const final = u.status !== "running";
  const movable = sql`id = ${u.jobId}::uuid and job_type in ('llm_finetuning', 'embedding_update') and status in (${sql.join(from.map((f) => sql`${f}`), sql`, `)})`;
  return [
    audited(db, actor, {
      action: "update",
      resourceType: "model_training_job",
      table: J,
      where: movable,
      change: sql`
      update ${J} set
        status = ${u.status},
        started_at = coalesce(started_at, now()),
        ended_at = case when ${final} then now() else ended_at end,
        duration_seconds = case when ${final} then greatest(0, round(extract(epoch from now() - coalesce(started_at, now()))))::int else duration_seconds end,
        metrics = case when ${u.metrics === null} then metrics else coalesce(metrics, '{}') || ${JSON.stringify(u.metrics ?? {})}::jsonb || jsonb_build_object('last_webhook_id', ${u.webhookId}::text) end,
        model_artifact_url = coalesce(${u.modelArtifactUrl}, model_artifact_url),
        error_message = coalesce(${u.errorMessage}, error_message),
        dataset_size = coalesce(${u.datasetSize}::int, dataset_size)
      where ${movable}
      returning *`,
    }),
    db.select({ status: J.status, jobType: J.jobType }).from(J).where(sql`${J.id} = ${u.jobId}::uuid`),
  ] as const;
}
