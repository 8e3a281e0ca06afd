import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, sql, type SQL } from "drizzle-orm";
import { runAs } from "../platform/db";
import { problemResponses } from "../platform/openapi";
import { notFound } from "../platform/problem";
import { createRouter } from "../platform/router";
import { requireSchool, requireStaff } from "./access";
import { CursorParam as Cursor, decodeCursor, Limit, paginate, PgTimestampKey } from "../platform/paging";
import { JsonObjectParam } from "./paging";
import { students } from "./schema";
import { JsonObject, patchBody } from "../platform/input";

const Metadata = JsonObject.openapi({ example: { learning_style: "visual", interests: ["math"] } });

const StudentInput = z
  .object({
    name: z.string().trim().min(1).max(100).openapi({ example: "김철수" }),
    schoolId: z.string().min(1).max(50).openapi({ example: "SCH001" }),
    grade: z.number().int().min(1).max(12),
    className: z.string().min(1).max(50).nullish(),
    studentNumber: z.string().min(1).max(20).nullish(),
    email: z.email().max(255).nullish(),
    parentContact: z.string().max(20).nullish(),
    metadata: Metadata.optional(),
    userId: z.uuid().nullish().openapi({ description: "the JWT sub of the student's own account (how a student token finds its record)" }),
  })
  .strict()
  .openapi("StudentInput");

const StudentPatch = patchBody(StudentInput.partial().strict()).openapi("StudentPatch");

export const Student = z
  .object({
    id: z.uuid(),
    name: z.string(),
    schoolId: z.string(),
    grade: z.number().int(),
    className: z.string().nullable(),
    studentNumber: z.string().nullable(),
    email: z.string().nullable(),
    parentContact: z.string().nullable(),
    metadata: Metadata,
    userId: z.uuid().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    similarity: z.number().optional().openapi({ description: "trigram similarity to q (name searches only)" }),
  })
  .openapi("Student");

const StudentPage = z.object({ items: z.array(Student), nextCursor: z.string().nullable() }).openapi("StudentPage");

const IdParam = z.object({ id: z.uuid() });

const ListQuery = z.object({
  schoolId: z.string().max(50).optional(),
  grade: z.coerce.number().int().min(1).max(12).optional(),
  className: z.string().max(50).optional(),
  metadata: JsonObjectParam.optional().openapi({ type: "string", description: "JSON object the metadata must contain (JSONB @>)", example: '{"learning_style":"visual"}' }),
  q: z.string().trim().min(1).max(100).optional().openapi({ description: "name search, ranked by trigram similarity" }),
  limit: Limit,
  cursor: Cursor,
});

export const studentColumns = {
  id: students.id,
  name: students.name,
  schoolId: students.schoolId,
  grade: students.grade,
  className: students.className,
  studentNumber: students.studentNumber,
  email: students.email,
  parentContact: students.parentContact,
  metadata: students.metadata,
  userId: students.userId,
  createdAt: students.createdAt,
  updatedAt: students.updatedAt,
};

const tags = ["hub"];

const createStudent = createRoute({
  method: "post",
  path: "/students",
  tags,
  summary: "Create a student (teachers: in their own school)",
  request: { body: { required: true, content: { "application/json": { schema: StudentInput } } } },
  responses: {
    201: { description: "Created", content: { "application/json": { schema: Student } } },
    ...problemResponses(401, 403, 409, 413, 415, 422, 429),
  },
});

const getStudent = createRoute({
  method: "get",
  path: "/students/{id}",
  tags,
  summary: "A student",
  request: { params: IdParam },
  responses: {
    200: { description: "The student", content: { "application/json": { schema: Student } } },
    ...problemResponses(401, 403, 404, 422, 429),
  },
});

const patchStudent = createRoute({
  method: "patch",
  path: "/students/{id}",
  tags,
  summary: "Change a student's fields",
  request: { params: IdParam, body: { required: true, content: { "application/json": { schema: StudentPatch } } } },
  responses: {
    200: { description: "Updated", content: { "application/json": { schema: Student } } },
    ...problemResponses(401, 403, 404, 409, 413, 415, 422, 429),
  },
});

const deleteStudent = createRoute({
  method: "delete",
  path: "/students/{id}",
  tags,
  summary: "Delete a student with their history, interventions and tasks (ON DELETE CASCADE)",
  request: { params: IdParam },
  responses: { 204: { description: "Deleted" }, ...problemResponses(401, 403, 404, 422, 429) },
});

const listStudents = createRoute({
  method: "get",
  path: "/students",
  tags,
  summary: "Students the caller may see: filters, metadata containment, name search; keyset pages",
  description:
    "Without q: newest first (created_at, id). With q: names similar to q (pg_trgm `%`, or containing it), most similar first. " +
    "Both page by keyset: pass nextCursor back as cursor.",
  request: { query: ListQuery },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: StudentPage } } },
    ...problemResponses(401, 403, 422, 429),
  },
});

const NewestKey = z.tuple([PgTimestampKey, z.uuid()]);
const RankKey = z.tuple([z.number(), z.uuid()]);

/** ILIKE pattern for "contains q", with q's own wildcards taken literally. */
const containsPattern = (q: string) => `%${q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;

export const studentRoutes = createRouter()
  .openapi(createStudent, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireStaff(principal);
    const input = c.req.valid("json");
    requireSchool(principal, input.schoolId);
    const [rows] = await runAs(db, principal, [
      db
        .insert(students)
        .values({ ...input, metadata: input.metadata ?? {}, id: crypto.randomUUID() })
        .returning(studentColumns),
    ] as const);
    return c.json(rows[0]!, 201);
  })
  .openapi(getStudent, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const [rows] = await runAs(db, c.var.principal, [db.select(studentColumns).from(students).where(eq(students.id, id))] as const);
    if (!rows[0]) throw notFound(`student ${id}`);
    return c.json(rows[0], 200);
  })
  .openapi(patchStudent, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireStaff(principal);
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    if (input.schoolId !== undefined) requireSchool(principal, input.schoolId);
    const [rows] = await runAs(db, principal, [
      db
        .update(students)
        .set({ ...input, metadata: input.metadata ?? undefined, updatedAt: sql`now()` })
        .where(eq(students.id, id))
        .returning(studentColumns),
    ] as const);
    if (!rows[0]) throw notFound(`student ${id}`);
    return c.json(rows[0], 200);
  })
  .openapi(deleteStudent, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireStaff(principal);
    const { id } = c.req.valid("param");
    const [rows] = await runAs(db, principal, [db.delete(students).where(eq(students.id, id)).returning({ id: students.id })] as const);
    if (!rows[0]) throw notFound(`student ${id}`);
    return c.body(null, 204);
  })
  .openapi(listStudents, async (c) => {
    const { db } = c.var;
    const query = c.req.valid("query");
    const filters: (SQL | undefined)[] = [
      query.schoolId !== undefined ? eq(students.schoolId, query.schoolId) : undefined,
      query.grade !== undefined ? eq(students.grade, query.grade) : undefined,
      query.className !== undefined ? eq(students.className, query.className) : undefined,
      // jsonb @> is what idx_students_metadata_gin (jsonb_ops) serves.
      query.metadata !== undefined ? sql`${students.metadata} @> ${JSON.stringify(query.metadata)}::jsonb` : undefined,
    ];
    const take = query.limit + 1;

    if (query.q !== undefined) {
      // `%` (similarity above pg_trgm.similarity_threshold) and ILIKE are both served by idx_students_name_trgm.
      const score = sql<number>`similarity(${students.name}, ${query.q})`;
      const after = decodeCursor(query.cursor, RankKey);
      const rows = (
        await runAs(db, c.var.principal, [
          db
            .select({ ...studentColumns, similarity: score })
            .from(students)
            .where(
              and(
                sql`(${students.name} % ${query.q} or ${students.name} ilike ${containsPattern(query.q)})`,
                ...filters,
                after ? sql`(${score}, ${students.id}) < (${after[0]}::real, ${after[1]}::uuid)` : undefined,
              ),
            )
            .orderBy(desc(score), desc(students.id))
            .limit(take),
        ] as const)
      )[0];
      return c.json(paginate(rows, query.limit, (last) => [last.similarity, last.id]), 200);
    }

    const createdText = sql<string>`${students.createdAt}::text`;
    const after = decodeCursor(query.cursor, NewestKey);
    const [rows] = await runAs(db, c.var.principal, [
      db
        .select({ ...studentColumns, createdText })
        .from(students)
        .where(and(...filters, after ? sql`(${students.createdAt}, ${students.id}) < (${after[0]}::timestamp, ${after[1]}::uuid)` : undefined))
        .orderBy(desc(students.createdAt), desc(students.id))
        .limit(take),
    ] as const);
    const { items, nextCursor } = paginate(rows, query.limit, (last) => [last.createdText, last.id]);
    return c.json({ items: items.map(({ createdText: _, ...s }) => s), nextCursor }, 200);
  });
