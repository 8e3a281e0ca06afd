import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../platform/db";
import { sessions, users } from "./schema";

/** The most a session's current_context may grow to by merges, as JSON text. */
export const MAX_CONTEXT_BYTES = 256 * 1024;

export interface NewSession {
  initialInput?: string;
  language?: string;
  expiresInSeconds?: number;
}

/** §3.1 leaves expires_at open; a session lasts a day unless its creator says otherwise. */
export const DEFAULT_SESSION_SECONDS = 24 * 60 * 60;

/** Inserts a session for the caller when they are an active user of `orgId`; no row otherwise. Columns in table order. */
export function insertSession(db: Database, userId: string, orgId: string, input: NewSession) {
  return db
    .insert(sessions)
    .select(
      sql`select gen_random_uuid(), u.id, 'active', ${input.language ?? "KOR"}::varchar, ${input.initialInput ?? null}::text, '{}'::jsonb,
                 now(), now(), now() + make_interval(secs => ${input.expiresInSeconds ?? DEFAULT_SESSION_SECONDS}), u.organization_id
          from ${users} u
          where u.id = ${userId}::uuid and u.organization_id = ${orgId}::uuid and u.is_active`,
    )
    .returning();
}

const merged = (patch: Record<string, unknown>) => sql`coalesce(${sessions.currentContext}, '{}'::jsonb) || ${JSON.stringify(patch)}::jsonb`;

/** Merges `patch` into an active session's context (top-level keys replace theirs), within MAX_CONTEXT_BYTES. */
export function mergeContext(db: Database, sessionId: string, patch: Record<string, unknown>) {
  return db
    .update(sessions)
    .set({ currentContext: merged(patch), updatedAt: sql`now()` })
    .where(and(eq(sessions.id, sessionId), eq(sessions.status, "active"), sql`octet_length((${merged(patch)})::text) <= ${MAX_CONTEXT_BYTES}`))
    .returning();
}

export function completeSession(db: Database, sessionId: string) {
  return db
    .update(sessions)
    .set({ status: "completed", updatedAt: sql`now()` })
    .where(and(eq(sessions.id, sessionId), eq(sessions.status, "active")))
    .returning();
}

/** The session as the caller sees it, to tell 404 (not visible), 403 (not theirs) and 409 (not active) apart. */
export function sessionState(db: Database, sessionId: string, patch?: Record<string, unknown>) {
  return db
    .select({
      userId: sessions.userId,
      status: sessions.status,
      tooLarge: patch ? sql<boolean>`octet_length((${merged(patch)})::text) > ${MAX_CONTEXT_BYTES}` : sql<boolean>`false`,
    })
    .from(sessions)
    .where(eq(sessions.id, sessionId));
}

/** Active sessions past expires_at become expired, at most `limit` a run; overlapping runs skip each other's rows. */
export function expireSessions(db: Database, limit: number) {
  const due = db
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.status, "active"), sql`${sessions.expiresAt} < now()`))
    .limit(limit)
    .for("update", { skipLocked: true });
  return db
    .update(sessions)
    .set({ status: "expired", updatedAt: sql`now()` })
    .where(sql`${sessions.id} in ${due}`)
    .returning({ id: sessions.id });
}
