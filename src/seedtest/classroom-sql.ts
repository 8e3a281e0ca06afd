import { sql } from "drizzle-orm";
import type { Database } from "../platform/db";
import { classrooms } from "./schema";

/**
 * Serialises "start a session in classroom X" against "delete classroom X" (there is no foreign
 * key to do it): starts take the lock shared, deletes exclusive, each as the statement before
 * its check, so the check's snapshot already sees whatever the other transaction committed.
 */
export function classroomLock(db: Database, classroomId: string, mode: "shared" | "exclusive") {
  const key = sql`hashtextextended(${`seedtest.classroom:${classroomId}`}, 0)`;
  return db.execute(mode === "shared" ? sql`select pg_advisory_xact_lock_shared(${key})` : sql`select pg_advisory_xact_lock(${key})`);
}

/** Who may change or delete a classroom row: the predicate of the teachers' write policies, so code and RLS agree. */
export const mayChangeClassroom = () => sql<boolean>`seedtest.is_admin() or seedtest.teaches_classroom(${classrooms.orgId}, ${classrooms.teacherId})`;

/** Only admins move a classroom to another org: the rule of the write policy seedtest.keeps_org, checked first so a refusal can say why. */
export const keepsOrg = (orgId: number | null) => sql<boolean>`(seedtest.is_admin() or ${classrooms.orgId} is not distinct from ${orgId}::integer)`;

/** Sessions still refer to the classroom (no foreign key says so: the document's choice). */
export const classroomInUse = (classroomId: string) => sql<boolean>`exists (select 1 from seedtest.session s where s.classroom_id = ${classroomId})`;
