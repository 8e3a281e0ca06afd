import { sql } from "drizzle-orm";
import type { Bindings } from "../platform/context";
import { backgroundDatabase } from "../platform/db";

// Jobs act for no user, so each calls one SECURITY DEFINER function of migration 0004 (one
// statement, one round trip) rather than holding a policy that reaches every learner's rows.
// Both are idempotent and safe to overlap: a row already moved or deleted matches nothing.
/**
 * Abandons RUNNING or PAUSED sessions without activity (a transition, a cell execution, a step
 * submission: each bumps updated_at) for EXAM_SESSION_IDLE_TIMEOUT_SEC (default 30 minutes).
 */
export async function abandonIdleSessions(env: Bindings): Promise<Record<string, unknown>> {
  const { config, db } = backgroundDatabase(env, "job-exam-abandon");
  const idleTimeoutSec = config.EXAM_SESSION_IDLE_TIMEOUT_SEC;
  const { rows } = await db.execute<{ abandoned: number }>(sql`select exam.abandon_idle_sessions(${idleTimeoutSec}::int) as abandoned`);
  return { abandoned: rows[0]?.abandoned ?? 0, idleTimeoutSec };
}

export async function purgePolicyEvents(env: Bindings): Promise<Record<string, unknown>> {
  const { config, db } = backgroundDatabase(env, "job-exam-audit-retention");
  const { rows } = await db.execute<{ purged: number }>(sql`select exam.purge_policy_events(${config.AUDIT_LOG_RETENTION_DAYS}::int) as purged`);
  return { purged: rows[0]?.purged ?? 0, retentionDays: config.AUDIT_LOG_RETENTION_DAYS };
}
