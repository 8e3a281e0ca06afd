import { z } from "@hono/zod-openapi";
import { and, eq, sql, type SQL } from "drizzle-orm";
import { runAs } from "../platform/db";
import { keyset } from "../platform/paging";
import { JsonObject, patchBody } from "../platform/input";
import { ApiError, notFound } from "../platform/problem";
import { defineRoute, json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { PageQuery, Timestamp, checkRange, pageOf, textParams } from "../platform/schemas";
import { columnsOf, insertSchema, rowSchema } from "../platform/table-schema";
import { classroomInUse, classroomLock, keepsOrg, mayChangeClassroom } from "./classroom-sql";
import { classrooms } from "./schema";
import { UserId } from "./shared";

const ClassroomInput = insertSchema(classrooms, {
  name: z.string().trim().min(1).max(200),
  orgId: (orgId) => orgId.min(0).openapi({ description: "Organisation (a caller's org is their numeric JWT tenant_id)" }),
  teacherId: () => UserId.openapi({ description: "User id (JWT sub) of the classroom's teacher" }),
  gradeLevel: () => z.string().trim().min(1).max(50),
  metadata: () => JsonObject,
})
  .pick({ name: true, orgId: true, teacherId: true, gradeLevel: true, metadata: true })
  .strict()
  .openapi("SeedtestClassroomInput");

const ClassroomPatch = patchBody(ClassroomInput.partial()).openapi("SeedtestClassroomPatch");

export const Classroom = rowSchema(classrooms, { metadata: JsonObject.nullable() }).openapi("SeedtestClassroom");
export const ClassroomPage = pageOf(Classroom, "SeedtestClassroomPage");

const IdParam = textParams("classroomId");
const tags = ["seedtest"];

const createClassroom = defineRoute(
  {
    method: "post",
    path: "/classrooms",
    tags,
    summary: "Create a classroom (admins; teachers for their org or themselves)",
    request: { body: jsonBody(ClassroomInput) },
    responses: { 201: json(Classroom, "Created") },
  },
  403,
);

const listClassrooms = defineRoute({
  method: "get",
  path: "/classrooms",
  tags,
  summary: "Classrooms the caller may see, newest first, filtered by org and teacher",
  request: {
    query: z.object({
      orgId: z.coerce.number().int().min(0).max(2_147_483_647).optional(),
      teacherId: UserId.optional(),
      createdFrom: Timestamp.optional(),
      createdTo: Timestamp.optional(),
      ...PageQuery,
    }),
  },
  responses: { 200: json(ClassroomPage, "A page of classrooms") },
});

const getClassroom = defineRoute(
  {
    method: "get",
    path: "/classrooms/{classroomId}",
    tags,
    summary: "One classroom",
    request: { params: IdParam },
    responses: { 200: json(Classroom, "The classroom") },
  },
  404,
);

const patchClassroom = defineRoute(
  {
    method: "patch",
    path: "/classrooms/{classroomId}",
    tags,
    summary: "Change a classroom's fields",
    request: { params: IdParam, body: jsonBody(ClassroomPatch) },
    responses: { 200: json(Classroom, "Updated") },
  },
  403,
  404,
);

const deleteClassroom = defineRoute(
  {
    method: "delete",
    path: "/classrooms/{classroomId}",
    tags,
    summary: "Delete a classroom no session refers to",
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" } },
  },
  403,
  404,
  409,
);

const byId = (id: string) => eq(classrooms.classroomId, id);
const newest = keyset([classrooms.createdAt, classrooms.classroomId], "desc");

export const classroomRoutes = createRouter()
  .openapi(createClassroom, async (c) => {
    const { db } = c.var;
    const input = c.req.valid("json");
    // Row-level security decides who may create it (42501 → 403 when the caller may not).
    const [rows] = await runAs(db, c.var.principal, [db.insert(classrooms).values({ classroomId: crypto.randomUUID(), ...input }).returning()] as const);
    return c.json(rows[0]!, 201);
  })
  .openapi(listClassrooms, async (c) => {
    const { db } = c.var;
    const q = c.req.valid("query");
    checkRange(q.createdFrom, q.createdTo);
    const filters: (SQL | undefined)[] = [
      q.orgId !== undefined ? eq(classrooms.orgId, q.orgId) : undefined,
      q.teacherId !== undefined ? eq(classrooms.teacherId, q.teacherId) : undefined,
      q.createdFrom !== undefined ? sql`${classrooms.createdAt} >= ${q.createdFrom}::timestamptz` : undefined,
      q.createdTo !== undefined ? sql`${classrooms.createdAt} < ${q.createdTo}::timestamptz` : undefined,
      newest.after(q.cursor),
    ];
    const [rows] = await runAs(db, c.var.principal, [
      db
        .select({ ...columnsOf(classrooms), ...newest.columns })
        .from(classrooms)
        .where(and(...filters))
        .orderBy(...newest.orderBy)
        .limit(q.limit + 1),
    ] as const);
    return c.json(newest.page(rows, q.limit), 200);
  })
  .openapi(getClassroom, async (c) => {
    const { db } = c.var;
    const { classroomId } = c.req.valid("param");
    const [rows] = await runAs(db, c.var.principal, [db.select().from(classrooms).where(byId(classroomId))] as const);
    if (!rows[0]) throw notFound(`classroom ${classroomId}`);
    return c.json(rows[0], 200);
  })
  .openapi(patchClassroom, async (c) => {
    const { db } = c.var;
    const { classroomId } = c.req.valid("param");
    const input = c.req.valid("json");
    // The select after the update tells "not yours to change" and "may not move it" from "not found".
    const [updated, state] = await runAs(db, c.var.principal, [
      db
        .update(classrooms)
        .set({ ...input, updatedAt: sql`now()` })
        .where(and(byId(classroomId), input.orgId === undefined ? undefined : keepsOrg(input.orgId)))
        .returning(),
      db.select({ mayChange: mayChangeClassroom() }).from(classrooms).where(byId(classroomId)),
    ] as const);
    if (updated[0]) return c.json(updated[0], 200);
    if (!state[0]) throw notFound(`classroom ${classroomId}`);
    if (!state[0].mayChange) throw new ApiError(403, "forbidden", `classroom ${classroomId} is not yours to change`);
    throw new ApiError(403, "forbidden", `only an admin may move classroom ${classroomId} to another org`, { errors: [{ path: "json.orgId", message: "must stay the classroom's org" }] });
  })
  .openapi(deleteClassroom, async (c) => {
    const { db } = c.var;
    const { classroomId } = c.req.valid("param");
    const inUse = classroomInUse(classroomId);
    const [, deleted, state] = await runAs(db, c.var.principal, [
      classroomLock(db, classroomId, "exclusive"),
      db.delete(classrooms).where(and(byId(classroomId), sql`not ${inUse}`)).returning({ classroomId: classrooms.classroomId }),
      // The same predicates as the delete policies: says "not yours" before "in use".
      db.select({ inUse, mayDelete: mayChangeClassroom() }).from(classrooms).where(byId(classroomId)),
    ] as const);
    if (deleted[0]) return c.body(null, 204);
    const current = state[0];
    if (!current) throw notFound(`classroom ${classroomId}`);
    if (!current.mayDelete) throw new ApiError(403, "forbidden", `classroom ${classroomId} is not yours to delete`);
    throw new ApiError(409, "classroom_in_use", `classroom ${classroomId} still has sessions; it is kept so they stay valid`);
  });
