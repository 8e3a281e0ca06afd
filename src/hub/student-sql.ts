import { eq, getTableColumns, is, SQL, sql } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import type { Database } from "../platform/db";
import { students } from "./schema";

/**
 * Adds a row that belongs to a student as `INSERT … SELECT … FROM hub.students WHERE id = …`:
 * row-level security on the student decides in the same statement whether the caller may write
 * for them, and a student the caller cannot see inserts nothing (the route answers 404, not a
 * foreign-key 409 or an RLS 403 that would tell the student exists). Columns `row` leaves out
 * take their Drizzle default, else null.
 */
export function insertForStudent<T extends PgTable>(db: Database, table: T, studentId: string, row: Omit<T["$inferInsert"], "studentId">) {
  const values = row as Record<string, unknown>;
  // INSERT … SELECT names every column, so the selection gives each one, in the table's order.
  const selection = Object.fromEntries(
    Object.entries(getTableColumns(table)).map(([key, column]) => {
      const type = sql.raw(column.getSQLType());
      const value =
        key === "studentId"
          ? sql`${students.id}`
          : values[key] !== undefined
            ? sql`${sql.param(values[key], column)}::${type}`
            : is(column.default, SQL)
              ? column.default
              : sql`null::${type}`;
      return [key, value.as(column.name)];
    }),
  );
  return db.insert(table).select(db.select(selection).from(students).where(eq(students.id, studentId)) as never);
}

/** The student as the caller may see it (its id, or nothing): batched beside a statement to tell "not visible" (404) from "nothing to do". */
export const visibleStudent = (db: Database, id: string) => db.select({ id: students.id }).from(students).where(eq(students.id, id));
