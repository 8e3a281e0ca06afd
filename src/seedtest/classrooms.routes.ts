import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, sql, type SQL } from "drizzle-orm";
import type { Database } from "../platform/db";
import { runAs } from "../platform/db";
import { problemResponses } from "../platform/openapi";
import { ApiError, notFound } from "../platform/problem";
import { createRouter } from "../platform/router";
import { classrooms } from "./schema";
import { decodeCursor, exactTime, paginate } from "../platform/paging";
import { checkRange, Metadata, page, PageQuery, TextId, UserId, TimeKey } from "./shared";
import { patchBody } from "../platform/input";

const ClassroomFields = {
  name: z.string().trim().min(1).max(200),
  orgId: z.number().int().min(0).max(2_147_483_647).nullable().openapi({ description: "Organisation (a caller's org is their numeric JWT tenant_id)" }),
  teacherId: UserId.nullable().openapi({ description: "User id (JWT sub) of the classroom's teacher" }),
  gradeLevel: z.string().trim().min(1).max(50).nullable(),
  metadata: Metadata.nullable(),
};

const ClassroomInput = z
  .object({
    name: ClassroomFields.name,
    orgId: ClassroomFields.orgId.optional(),
    teacherId: ClassroomFields.teacherId.optional(),
    gradeLevel: ClassroomFields.gradeLevel.optional(),
    metadata: ClassroomFields.metadata.optional(),
  })
  .strict()
  .openapi("SeedtestClassroomInput");

const ClassroomPatch = patchBody(z.object(ClassroomFields).partial().strict()).openapi("SeedtestClassroomPatch");

const Classroom = z
  .object({
    classroomId: z.string(),
    name: z.string(),
    orgId: z.number().int().nullable(),
    teacherId: z.string().nullable(),
    gradeLevel: z.string().nullable(),
    metadata: Metadata.nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi("SeedtestClassroom");

const IdParam = z.object({ classroomId: TextId.openapi({ param: { name: "classroomId", in: "path" } }) });

const columns = {
  classroomId: classrooms.classroomId,
  name: classrooms.name,
  orgId: classrooms.orgId,
  teacherId: classrooms.teacherId,
  gradeLevel: classrooms.gradeLevel,
  metadata: classrooms.metadata,
  createdAt: classrooms.createdAt,
  updatedAt: classrooms.updatedAt,
};

const tags = ["seedtest"];

const createClassroom = createRoute({
  method: "post",
  path: "/classrooms",
  tags,
  summary: "Create a classroom (admins; teachers for their org or themselves)",
  request: { body: { required: true, content: { "application/json": { schema: ClassroomInput } } } },
  responses: {
    201: { description: "Created", content: { "application/json": { schema: Classroom } } },
    ...problemResponses(401, 403, 413, 415, 422, 429),
  },
});

const listClassrooms = createRoute({
  method: "get",
  path: "/classrooms",
  tags,
  summary: "Classrooms the caller may see, newest first, filtered by org and teacher",
  request: {
    query: z.object({
      orgId: z.coerce.number().int().min(0).max(2_147_483_647).optional(),
      teacherId: UserId.optional(),
      createdFrom: z.iso.datetime({ offset: true }).optional(),
      createdTo: z.iso.datetime({ offset: true }).optional(),
      ...PageQuery,
    }),
  },
  responses: {
    200: { description: "A page of classrooms", content: { "application/json": { schema: page(Classroom, "SeedtestClassroomPage") } } },
    ...problemResponses(401, 422, 429),
  },
});

const getClassroom = createRoute({
  method: "get",
  path: "/classrooms/{classroomId}",
  tags,
  summary: "One classroom",
  request: { params: IdParam },
  responses: {
    200: { description: "The classroom", content: { "application/json": { schema: Classroom } } },
    ...problemResponses(401, 404, 429),
  },
});

const patchClassroom = createRoute({
  method: "patch",
  path: "/classrooms/{classroomId}",
  tags,
  summary: "Change a classroom's fields",
  request: { params: IdParam, body: { required: true, content: { "application/json": { schema: ClassroomPatch } } } },
  responses: {
    200: { description: "Updated", content: { "application/json": { schema: Classroom } } },
    ...problemResponses(401, 403, 404, 413, 415, 422, 429),
  },
});

const deleteClassroom = createRoute({
  method: "delete",
  path: "/classrooms/{classroomId}",
  tags,
  summary: "Delete a classroom no session refers to",
  request: { params: IdParam },
  responses: {
    204: { description: "Deleted" },
    ...problemResponses(401, 403, 404, 409, 429),
  },
});

/**
 * Serialises "start a session in classroom X" against "delete classroom X" (there is no foreign
 * key to do it): starts take the lock shared, deletes exclusive, each as the statement before
 * its check, so the check's snapshot already sees whatever the other transaction committed.
 */
export function classroomLock(db: Database, classroomId: string, mode: "shared" | "exclusive") {
  const key = sql`hashtextextended(${`seedtest.classroom:${classroomId}`}, 0)`;
  return db.execute(mode === "shared" ? sql`select pg_advisory_xact_lock_shared(${key})` : sql`select pg_advisory_xact_lock(${key})`);
}

const byId = (id: string) => eq(classrooms.classroomId, id);

export const classroomRoutes = createRouter()
  .openapi(createClassroom, async (c) => {
    const { db } = c.var;
    const input = c.req.valid("json");
    // Row-level security decides who may create it (42501 → 403 when the caller may not).
    const [rows] = await runAs(db, c.var.principal, [
      db.insert(classrooms).values({ classroomId: crypto.randomUUID(), ...input }).returning(columns),
    ] as const);
    return c.json(rows[0]!, 201);
  })
  .openapi(listClassrooms, async (c) => {
    const { db } = c.var;
    const q = c.req.valid("query");
    checkRange(q.createdFrom, q.createdTo);
    const after = decodeCursor(q.cursor, TimeKey);
    const filters: (SQL | undefined)[] = [
      q.orgId !== undefined ? eq(classrooms.orgId, q.orgId) : undefined,
      q.teacherId !== undefined ? eq(classrooms.teacherId, q.teacherId) : undefined,
      q.createdFrom !== undefined ? sql`${classrooms.createdAt} >= ${q.createdFrom}::timestamptz` : undefined,
      q.createdTo !== undefined ? sql`${classrooms.createdAt} < ${q.createdTo}::timestamptz` : undefined,
      after ? sql`(${classrooms.createdAt}, ${classrooms.classroomId}) < (${after[0]}::timestamptz, ${after[1]})` : undefined,
    ];
    const [rows] = await runAs(db, c.var.principal, [
      db
        .select({ ...columns, key: exactTime(classrooms.createdAt) })
        .from(classrooms)
        .where(and(...filters))
        .orderBy(desc(classrooms.createdAt), desc(classrooms.classroomId))
        .limit(q.limit + 1),
    ] as const);
    const { items, nextCursor } = paginate(rows, q.limit, (r) => [r.key, r.classroomId]);
    return c.json({ items: items.map(({ key: _, ...room }) => room), nextCursor }, 200);
  })
  .openapi(getClassroom, async (c) => {
    const { db } = c.var;
    const { classroomId } = c.req.valid("param");
    const [rows] = await runAs(db, c.var.principal, [db.select(columns).from(classrooms).where(byId(classroomId))] as const);
    if (!rows[0]) throw notFound(`classroom ${classroomId}`);
    return c.json(rows[0], 200);
  })
  .openapi(patchClassroom, async (c) => {
    const { db } = c.var;
    const { classroomId } = c.req.valid("param");
    const input = c.req.valid("json");
    // Only admins move a classroom to another org: the same rule as the teachers' write policy
    // (seedtest.keeps_org), checked here first so the refusal can say why.
    const keepsOrg = input.orgId === undefined ? undefined : sql`(seedtest.is_admin() or ${classrooms.orgId} is not distinct from ${input.orgId}::integer)`;
    // The select after the update tells "not yours to change" and "may not move it" from "not found".
    const [updated, state] = await runAs(db, c.var.principal, [
      db.update(classrooms).set({ ...input, updatedAt: sql`now()` }).where(and(byId(classroomId), keepsOrg)).returning(columns),
      db
        .select({ mayChange: sql<boolean>`seedtest.is_admin() or seedtest.teaches_classroom(${classrooms.orgId}, ${classrooms.teacherId})` })
        .from(classrooms)
        .where(byId(classroomId)),
    ] as const);
    if (updated[0]) return c.json(updated[0], 200);
    if (!state[0]) throw notFound(`classroom ${classroomId}`);
    if (!state[0].mayChange) throw new ApiError(403, "forbidden", `classroom ${classroomId} is not yours to change`);
    throw new ApiError(403, "forbidden", `only an admin may move classroom ${classroomId} to another org`, { errors: [{ path: "json.orgId", message: "must stay the classroom's org" }] });
  })
  .openapi(deleteClassroom, async (c) => {
    const { db } = c.var;
    const { classroomId } = c.req.valid("param");
    const inUse = sql<boolean>`exists (select 1 from seedtest.session s where s.classroom_id = ${classroomId})`;
    const [, deleted, state] = await runAs(db, c.var.principal, [
      classroomLock(db, classroomId, "exclusive"),
      db.delete(classrooms).where(and(byId(classroomId), sql`not ${inUse}`)).returning({ classroomId: classrooms.classroomId }),
      // The same predicates as the delete policies: says "not yours" before "in use".
      db
        .select({ inUse, mayDelete: sql<boolean>`seedtest.is_admin() or seedtest.teaches_classroom(${classrooms.orgId}, ${classrooms.teacherId})` })
        .from(classrooms)
        .where(byId(classroomId)),
    ] as const);
    if (deleted[0]) return c.body(null, 204);
    const current = state[0];
    if (!current) throw notFound(`classroom ${classroomId}`);
    if (!current.mayDelete) throw new ApiError(403, "forbidden", `classroom ${classroomId} is not yours to delete`);
    throw new ApiError(409, "classroom_in_use", `classroom ${classroomId} still has sessions; it is kept so they stay valid`);
  });
