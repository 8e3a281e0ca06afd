import { and, eq, inArray, sql, type SQL } from "drizzle-orm";
import { hasRole, type Principal } from "../platform/auth";
import type { Database } from "../platform/db";
import { columnsOf } from "../platform/table-schema";
import { requireRole } from "../platform/auth";
import { outboxFrom, type EventFrom } from "./outbox-from";
import { sessions } from "./schema";
import { TRANSITIONS, type TransitionName } from "./session-machine";

/** Extra columns a transition sets besides status and updated_at. */
const SETS: Partial<Record<TransitionName, Partial<Record<keyof typeof sessions.$inferInsert, SQL>>>> = {
  start: { startedAt: sql`now()` },
  // Mean over the submitted steps of each step's best score, 0..100; 0 when nothing was submitted.
  submit: {
    endedAt: sql`now()`,
    finalScore: sql`(select coalesce(round(avg(b.best)), 0)::int from (select max(ss.score) as best from exam.step_submissions ss where ss.session_id = ${sessions.id} group by ss.step_no) b)`,
  },
  "force-close": { endedAt: sql`now()` },
};

/** Events a transition emits; columns are the moved row's (the CTE `moved`). */
export const EVENTS: Partial<Record<TransitionName, (actorId: string) => EventFrom>> = {
  start: (actorId) => ({
    eventType: "SESSION_STARTED",
    actorId,
    entityId: sql`moved.id::text`,
    payload: sql`jsonb_build_object('sessionId', moved.id, 'labId', moved.lab_id, 'level', moved.level, 'engineType', moved.engine_type, 'mode', moved.mode)`,
  }),
  submit: (actorId) => ({
    eventType: "SESSION_FINAL_SUBMITTED",
    actorId,
    entityId: sql`moved.id::text`,
    payload: sql`jsonb_build_object('sessionId', moved.id, 'labId', moved.lab_id, 'finalScore', moved.final_score, 'mode', moved.mode, 'level', moved.level)`,
  }),
};

/**
 * One transition as one conditional UPDATE (with its event, when it has one, in the same
 * statement), then the session as it now is: moved → 200 with it; not moved → 409 naming the
 * state, or 404 when the caller cannot see it. Row locks make concurrent moves queue: the
 * second re-checks the status the first wrote and matches nothing.
 */
export function transitionStatements(db: Database, principal: Principal, name: TransitionName, id: string) {
  const t = TRANSITIONS[name];
  const privileged = hasRole(principal, ...t.actor.roles);
  if (!t.actor.owner) requireRole(principal, t.actor.roles, `${name} a session`);
  // Owners act on their own sessions only; staff reach others' through the 0004 policies.
  const scope = and(eq(sessions.id, id), privileged ? undefined : eq(sessions.userId, principal.userId));
  const update = db
    .update(sessions)
    .set({ status: t.to, updatedAt: sql`now()`, ...SETS[name] })
    .where(and(scope, inArray(sessions.status, [...t.from])))
    .returning();
  const event = EVENTS[name]?.(principal.userId);
  const move = event
    ? db.execute<{ id: string }>(sql`with moved as (${update.getSQL()}), event as (${outboxFrom(sql`moved`, event)}) select id from moved`)
    : db.execute<{ id: string }>(sql`with moved as (${update.getSQL()}) select id from moved`);
  return [move, db.select(columnsOf(sessions)).from(sessions).where(scope)] as const;
}
