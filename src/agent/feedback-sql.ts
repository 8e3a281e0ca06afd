import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../platform/db";
import { feedback, plans, sessions } from "./schema";

export interface FeedbackInput {
  sessionId?: string;
  planId?: string;
  rating: number;
  feedbackType: string;
  comment?: string;
  contextData?: Record<string, unknown>;
}

/**
 * Inserts the caller's feedback on a plan (its session comes with it) or a session, only when the
 * caller is an active member and the target is visible to them: otherwise nothing is written and
 * feedbackTarget() (same batch) says why.
 */
export function insertFeedback(db: Database, userId: string, input: FeedbackInput) {
  const given = {
    userId: sql<string>`${userId}::uuid`.as("user_id"),
    rating: sql<number>`${input.rating}::int`.as("rating"),
    feedbackType: sql<string>`${input.feedbackType}::varchar`.as("feedback_type"),
    comment: sql<string | null>`${input.comment ?? null}::text`.as("comment"),
    contextData: sql<unknown>`${input.contextData === undefined ? null : JSON.stringify(input.contextData)}::jsonb`.as("context_data"),
    createdAt: sql<Date>`now()`.as("created_at"),
  };
  const member = sql`agent.caller_is_member()`;
  const rows = input.planId
    ? db
        .select({ id: sql<string>`gen_random_uuid()`.as("id"), sessionId: plans.sessionId, planId: plans.id, ...given, organizationId: plans.organizationId })
        .from(plans)
        .where(and(eq(plans.id, input.planId), input.sessionId ? eq(plans.sessionId, input.sessionId) : undefined, member))
    : db
        .select({ id: sql<string>`gen_random_uuid()`.as("id"), sessionId: sessions.id, planId: sql<string | null>`null::uuid`.as("plan_id"), ...given, organizationId: sessions.organizationId })
        .from(sessions)
        .where(and(eq(sessions.id, input.sessionId!), member));
  return db.insert(feedback).select(rows).returning();
}

/** Why insertFeedback wrote nothing: not a member, no such plan or session, or a plan of another session. */
export const feedbackTarget = (db: Database, input: FeedbackInput) =>
  db.execute<{ member: boolean; plan_session: string | null; plan_seen: boolean; session_seen: boolean }>(sql`
    select agent.caller_is_member() as member,
           (select session_id from agent.plans where id = ${input.planId ?? null}::uuid) as plan_session,
           exists (select 1 from agent.plans where id = ${input.planId ?? null}::uuid) as plan_seen,
           exists (select 1 from agent.sessions where id = ${input.sessionId ?? null}::uuid) as session_seen`);

/** A plan's feedback in figures (row-level security: the organization's managers and admins see everyone's). */
export const planFeedbackSummary = (db: Database, planId: string) =>
  [
    db.execute<{ found: boolean }>(sql`select exists (select 1 from agent.plans where id = ${planId}::uuid) as found`),
    db.execute<{ count: number; average: string | null; r1: number; r2: number; r3: number; r4: number; r5: number }>(sql`
      select count(*)::int as count, round(avg(rating), 2) as average,
             count(*) filter (where rating = 1)::int as r1, count(*) filter (where rating = 2)::int as r2,
             count(*) filter (where rating = 3)::int as r3, count(*) filter (where rating = 4)::int as r4,
             count(*) filter (where rating = 5)::int as r5
        from agent.feedback where plan_id = ${planId}::uuid`),
    db.execute<{ feedback_type: string | null; count: number; average: string | null }>(sql`
      select feedback_type, count(*)::int as count, round(avg(rating), 2) as average
        from agent.feedback where plan_id = ${planId}::uuid group by feedback_type order by feedback_type nulls last`),
  ] as const;
