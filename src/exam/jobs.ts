import { sql } from "drizzle-orm";
import type { Bindings } from "../platform/context";
import { loadConfig } from "../platform/config";
import { createDatabase } from "../platform/db";
import type { ScheduledJob } from "../../functions/scheduled";

/**
 * How long a RUNNING or PAUSED session may go without activity (a transition, a cell execution,
 * a step submission: each bumps updated_at) before the sweep abandons it. 30 minutes: well past
 * RUNTIME_STEP_TIMEOUT_SEC's default of 5, short enough that an abandoned mock frees its slot
 * the same hour. Proposed as the variable EXAM_SESSION_IDLE_TIMEOUT_SEC in config.ts.
 */
export const SESSION_IDLE_TIMEOUT_SEC = 30 * 60;

/**
 * Jobs act for no user, so each calls one SECURITY DEFINER function of migration 0004 (one
 * statement, one round trip) rather than holding a policy that reaches every learner's rows.
 * Both are idempotent and safe to overlap: a row already moved or deleted matches nothing.
 */
export async function abandonIdleSessions(env: Bindings): Promise<Record<string, unknown>> {
  const db = createDatabase(loadConfig(env), `job-abandon-${crypto.randomUUID()}`);
  const { rows } = await db.execute<{ abandoned: number }>(sql`select exam.abandon_idle_sessions(${SESSION_IDLE_TIMEOUT_SEC}::int) as abandoned`);
  return { abandoned: rows[0]?.abandoned ?? 0, idleTimeoutSec: SESSION_IDLE_TIMEOUT_SEC };
}

export async function purgePolicyEvents(env: Bindings): Promise<Record<string, unknown>> {
  const config = loadConfig(env);
  const db = createDatabase(config, `job-audit-retention-${crypto.randomUUID()}`);
  const { rows } = await db.execute<{ purged: number }>(sql`select exam.purge_policy_events(${config.AUDIT_LOG_RETENTION_DAYS}::int) as purged`);
  return { purged: rows[0]?.purged ?? 0, retentionDays: config.AUDIT_LOG_RETENTION_DAYS };
}

/** Registered in functions/scheduled.ts under EVERY_MINUTE and DAILY. */
export const examEveryMinuteJobs: ScheduledJob[] = [abandonIdleSessions];
export const examDailyJobs: ScheduledJob[] = [purgePolicyEvents];
