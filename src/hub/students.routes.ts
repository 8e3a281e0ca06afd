import { z } from "@hono/zod-openapi";
import { and, eq, sql, type SQL } from "drizzle-orm";
import { runAs } from "../platform/db";
import { JsonObject, patchBody } from "../platform/input";
import { keyset } from "../platform/paging";
import { notFound } from "../platform/problem";
import { defineRoute, json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { JsonObjectParam, PageQuery, pageOf, uuidParams } from "../platform/schemas";
import { columnsOf, insertSchema, rowSchema } from "../platform/table-schema";
import { requireSchool, requireStaff } from "./access";
import { students } from "./schema";

const Metadata = JsonObject.openapi({ example: { learning_style: "visual", interests: ["math"] } });

const StudentInput = insertSchema(students, {
  name: (s) => s.trim().min(1).openapi({ example: "김철수" }),
  schoolId: (s) => s.min(1).openapi({ example: "SCH001" }),
  grade: (s) => s.min(1).max(12),
  className: (s) => s.min(1),
  studentNumber: (s) => s.min(1),
  email: () => z.email().max(255),
  // Optional here though the column is NOT NULL: an omitted metadata is stored as {}.
  metadata: Metadata.optional(),
  userId: (s) => s.openapi({ description: "the JWT sub of the student's own account (how a student token finds its record)" }),
})
  .pick({ name: true, schoolId: true, grade: true, className: true, studentNumber: true, email: true, parentContact: true, metadata: true, userId: true })
  .strict()
  .openapi("StudentInput");

const StudentPatch = patchBody(StudentInput.partial().strict()).openapi("StudentPatch");

export const Student = rowSchema(students, { metadata: z.record(z.string(), z.unknown()) })
  .extend({ similarity: z.number().optional().openapi({ description: "trigram similarity to q (name searches only)" }) })
  .openapi("Student");

export const StudentPage = pageOf(Student, "StudentPage");

const ListQuery = z.object({
  schoolId: z.string().max(50).optional(),
  grade: z.coerce.number().int().min(1).max(12).optional(),
  className: z.string().max(50).optional(),
  metadata: JsonObjectParam.optional().openapi({ type: "string", description: "JSON object the metadata must contain (JSONB @>)", example: '{"learning_style":"visual"}' }),
  q: z.string().trim().min(1).max(100).optional().openapi({ description: "name search, ranked by trigram similarity" }),
  ...PageQuery,
});

const tags = ["hub"];
const params = uuidParams("id");

const createStudent = defineRoute(
  {
    method: "post",
    path: "/students",
    tags,
    summary: "Create a student (teachers: in their own school)",
    request: { body: jsonBody(StudentInput) },
    responses: { 201: json(Student, "Created") },
  },
  403,
  409,
);

const getStudent = defineRoute(
  { method: "get", path: "/students/{id}", tags, summary: "A student", request: { params }, responses: { 200: json(Student, "The student") } },
  404,
);

const patchStudent = defineRoute(
  {
    method: "patch",
    path: "/students/{id}",
    tags,
    summary: "Change a student's fields",
    request: { params, body: jsonBody(StudentPatch) },
    responses: { 200: json(Student, "Updated") },
  },
  403,
  404,
  409,
);

const deleteStudent = defineRoute(
  {
    method: "delete",
    path: "/students/{id}",
    tags,
    summary: "Delete a student with their history, interventions and tasks (ON DELETE CASCADE)",
    request: { params },
    responses: { 204: { description: "Deleted" } },
  },
  403,
  404,
);

const listStudents = defineRoute({
  method: "get",
  path: "/students",
  tags,
  summary: "Students the caller may see: filters, metadata containment, name search; keyset pages",
  description:
    "Without q: newest first (created_at, id). With q: names similar to q (pg_trgm `%`, or containing it), most similar first. " +
    "Both page by keyset: pass nextCursor back as cursor.",
  request: { query: ListQuery },
  responses: { 200: json(StudentPage, "A page") },
});

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
        .returning(),
    ] as const);
    return c.json(rows[0]!, 201);
  })
  .openapi(getStudent, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const [rows] = await runAs(db, c.var.principal, [db.select().from(students).where(eq(students.id, id))] as const);
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
        .returning(),
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
    // Name searches rank by similarity (`%` above pg_trgm.similarity_threshold, or ILIKE: both served
    // by idx_students_name_trgm); other lists are newest first.
    const similarity = query.q !== undefined ? sql<number>`similarity(${students.name}, ${query.q})` : undefined;
    const k = similarity ? keyset([{ expr: similarity, type: "real" }, students.id]) : keyset([students.createdAt, students.id]);
    const search = query.q !== undefined ? sql`(${students.name} % ${query.q} or ${students.name} ilike ${containsPattern(query.q)})` : undefined;
    const [rows] = await runAs(db, c.var.principal, [
      db
        .select({ ...k.columns, ...columnsOf(students), ...(similarity ? { similarity } : {}) })
        .from(students)
        .where(and(search, ...filters, k.after(query.cursor)))
        .orderBy(...k.orderBy)
        .limit(query.limit + 1),
    ] as const);
    return c.json(k.page(rows, query.limit), 200);
  });
