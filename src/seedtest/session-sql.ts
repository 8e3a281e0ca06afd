import { sql } from "drizzle-orm";
import type { Database } from "../platform/db";
import { sessions } from "./schema";

export interface SessionStartValues {
  classroomId: string | null;
  sessionType?: string | null;
  startedAt?: string;
  metadata?: Record<string, unknown> | null;
}

/**
 * Inserts a session for `userId`, but only when its classroom (if any) exists and is visible to
 * the caller, in the same statement: there is no foreign key (the document's choice). Returns the
 * row, or no row when the classroom is missing or hidden.
 */
export function insertSession(db: Database, userId: string, values: SessionStartValues) {
  const { classroomId } = values;
  return db
    .insert(sessions)
    .select(
      sql`select ${crypto.randomUUID()}, ${userId}, ${classroomId}::text, coalesce(${values.startedAt ?? null}::timestamptz, now()),
                 null::timestamptz, ${values.sessionType ?? null}::text, ${values.metadata ? JSON.stringify(values.metadata) : null}::jsonb
          where ${classroomId}::text is null or exists (select 1 from seedtest.classroom c where c.classroom_id = ${classroomId}::text)`,
    )
    .returning();
}
