import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { runAs } from "../platform/db";
import { problemResponses } from "../platform/openapi";
import { ApiError, notFound } from "../platform/problem";
import { createRouter } from "../platform/router";
import { requireStaff } from "./access";
import { CursorParam as Cursor, decodeCursor, Limit, paginate, PgTimestampKey } from "../platform/paging";
import { fromPgTimestamp } from "./paging";
import { INTERVENTION_STATUSES, INTERVENTION_TYPES, interventions, students } from "./schema";
import { freeJson } from "../platform/input";

type Status = (typeof INTERVENTION_STATUSES)[number];

/** active ↔ paused; either may end as completed or cancelled; ended ones stay ended. */
const FROM: Record<Status, Status[]> = {
  active: ["paused"],
  paused: ["active"],
  completed: ["active", "paused"],
  cancelled: ["active", "paused"],
};

// The JSONB documents keep the document's own key style (spec 004 §3.3: concept, current_mastery…).
const WeakArea = z.looseObject({ concept: z.string().min(1).max(200) }).openapi({ example: { concept: "quadratics", current_mastery: 0.65, target_mastery: 0.85, priority: 1 } });
const PathStep = z
  .looseObject({ step: z.number().int().min(1), activity: z.string().min(1).max(100) })
  .openapi({ example: { step: 1, activity: "review_concept", concept: "quadratics", estimated_duration: 1800 } });
const Progress = z
  .object({ completed: z.number().int().min(0), total: z.number().int().min(0) })
  .refine((p) => p.completed <= p.total, { message: "completed cannot exceed total", path: ["completed"] });

const InterventionInput = z
  .object({
    type: z.enum(INTERVENTION_TYPES),
    weakAreas: freeJson(z.array(WeakArea).min(1).max(50)),
    learningPath: freeJson(z.array(PathStep).min(1).max(200)),
    progress: Progress.optional().openapi({ description: "defaults to {completed: 0, total: learningPath.length}" }),
  })
  .strict()
  .openapi("InterventionInput");

const AutoInput = z
  .object({
    windowDays: z.number().int().min(1).max(365).default(30),
    targetMastery: z.number().gt(0).max(1).default(0.85),
    minAttempts: z.number().int().min(1).max(1000).default(3),
    maxAreas: z.number().int().min(1).max(10).default(3),
  })
  .strict()
  .openapi("AutoInterventionInput");

export const Intervention = z
  .object({
    id: z.uuid(),
    studentId: z.uuid(),
    type: z.enum(INTERVENTION_TYPES),
    weakAreas: z.array(z.record(z.string(), z.unknown())),
    learningPath: z.array(z.record(z.string(), z.unknown())),
    status: z.enum(INTERVENTION_STATUSES),
    progress: z.object({ completed: z.number().int(), total: z.number().int() }),
    createdAt: z.iso.datetime(),
    completedAt: z.iso.datetime().nullable(),
  })
  .openapi("Intervention");

const InterventionPage = z.object({ items: z.array(Intervention), nextCursor: z.string().nullable() }).openapi("InterventionPage");

const StudentParam = z.object({ id: z.uuid() });
const IdParam = z.object({ id: z.uuid() });
const ListQuery = z.object({ status: z.enum(INTERVENTION_STATUSES).optional(), limit: Limit, cursor: Cursor });
const ProgressInput = z
  .object({ completed: z.number().int().min(0), total: z.number().int().min(0).optional() })
  .strict()
  .refine((p) => p.total === undefined || p.completed <= p.total, { message: "completed cannot exceed total", path: ["completed"] })
  .openapi("InterventionProgressInput");
const StatusInput = z.object({ status: z.enum(INTERVENTION_STATUSES) }).strict().openapi("InterventionStatusInput");

const columns = {
  id: interventions.id,
  studentId: interventions.studentId,
  type: interventions.type,
  weakAreas: interventions.weakAreas,
  learningPath: interventions.learningPath,
  status: interventions.status,
  progress: interventions.progress,
  createdAt: interventions.createdAt,
  completedAt: interventions.completedAt,
};

const tags = ["hub"];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });

const create = createRoute({
  method: "post",
  path: "/students/{id}/interventions",
  tags,
  summary: "Create an intervention (auto or teacher_requested) with its weak areas and learning path",
  request: { params: StudentParam, body: { required: true, content: { "application/json": { schema: InterventionInput } } } },
  responses: { 201: json(Intervention, "Created"), ...problemResponses(401, 403, 404, 413, 415, 422, 429) },
});

const auto = createRoute({
  method: "post",
  path: "/students/{id}/interventions/auto",
  tags,
  summary: "Derive weak areas from recent learning history and propose a learning path",
  description:
    "Over the last windowDays, events (study, test, review, assessment) whose content has a `concept` and a `result` of " +
    "`correct` or `incorrect` give each concept an accuracy = correct / attempts. Concepts with at least minAttempts " +
    "attempts and accuracy below targetMastery are weak; the maxAreas weakest (lowest accuracy, then most attempts) become " +
    "weak_areas with priority 1…n, and each gets two path steps: review_concept (1800 s) then practice (10 problems, 2400 s). " +
    "422 no_weak_areas when nothing qualifies.",
  request: { params: StudentParam, body: { required: true, content: { "application/json": { schema: AutoInput } } } },
  responses: { 201: json(Intervention, "Created"), ...problemResponses(401, 403, 404, 413, 415, 422, 429) },
});

const list = createRoute({
  method: "get",
  path: "/students/{id}/interventions",
  tags,
  summary: "A student's interventions, newest first (status=active is served by the partial index idx_interventions_active)",
  request: { params: StudentParam, query: ListQuery },
  responses: { 200: json(InterventionPage, "A page"), ...problemResponses(401, 403, 404, 422, 429) },
});

const get = createRoute({
  method: "get",
  path: "/interventions/{id}",
  tags,
  summary: "An intervention",
  request: { params: IdParam },
  responses: { 200: json(Intervention, "The intervention"), ...problemResponses(401, 403, 404, 422, 429) },
});

const progress = createRoute({
  method: "patch",
  path: "/interventions/{id}/progress",
  tags,
  summary: "Record progress (completed steps, optionally a new total) of an active or paused intervention",
  request: { params: IdParam, body: { required: true, content: { "application/json": { schema: ProgressInput } } } },
  responses: { 200: json(Intervention, "Updated"), ...problemResponses(401, 403, 404, 409, 413, 415, 422, 429) },
});

const transition = createRoute({
  method: "post",
  path: "/interventions/{id}/status",
  tags,
  summary: "Change status: active ↔ paused, active|paused → completed|cancelled (sets completedAt)",
  request: { params: IdParam, body: { required: true, content: { "application/json": { schema: StatusInput } } } },
  responses: { 200: json(Intervention, "Changed"), ...problemResponses(401, 403, 404, 409, 413, 415, 422, 429) },
});

const NewestKey = z.tuple([PgTimestampKey, z.uuid()]);

/** Weak areas and learning path of the auto rule (see the route description), as one SQL expression set. */
function autoIntervention(id: string, studentId: string, p: z.infer<typeof AutoInput>) {
  return sql`
    with stats as (
      select h.content->>'concept' as concept,
             count(*) as attempts,
             count(*) filter (where h.content->>'result' = 'correct') as correct
      from hub.learning_history h
      where h.student_id = ${studentId}
        and h.occurred_at >= (now() at time zone 'utc') - make_interval(days => ${p.windowDays}::int)
        and h.event_type in ('study', 'test', 'review', 'assessment')
        and jsonb_typeof(h.content->'concept') = 'string'
        and h.content->>'result' in ('correct', 'incorrect')
      group by 1
      having count(*) >= ${p.minAttempts}::int
    ), weak as (
      select concept, attempts, round(correct::numeric / attempts, 2) as mastery,
             row_number() over (order by correct::numeric / attempts, attempts desc, concept)::int as priority
      from stats
      where correct::numeric / attempts < ${p.targetMastery}::numeric
      order by priority
      limit ${p.maxAreas}::int
    )
    insert into hub.interventions (id, student_id, type, weak_areas, learning_path, progress)
    select ${id}::uuid, s.id, 'auto',
      (select jsonb_agg(jsonb_build_object('concept', concept, 'current_mastery', mastery,
         'target_mastery', ${p.targetMastery}::numeric, 'attempts', attempts, 'priority', priority) order by priority) from weak),
      (select jsonb_agg(step order by n) from (
         select priority * 2 - 1 as n, jsonb_build_object('step', priority * 2 - 1, 'activity', 'review_concept',
                'concept', concept, 'estimated_duration', 1800) as step from weak
         union all
         select priority * 2, jsonb_build_object('step', priority * 2, 'activity', 'practice', 'concept', concept,
                'num_problems', 10, 'estimated_duration', 2400) from weak) as steps),
      jsonb_build_object('completed', 0, 'total', 2 * (select count(*) from weak))
    from hub.students s
    where s.id = ${studentId} and exists (select 1 from weak)
    returning id, student_id as "studentId", type, weak_areas as "weakAreas", learning_path as "learningPath", status, progress,
              created_at as "createdAt", completed_at as "completedAt"`;
}

export const interventionRoutes = createRouter()
  .openapi(create, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireStaff(principal);
    const { id: studentId } = c.req.valid("param");
    const input = c.req.valid("json");
    const progress = input.progress ?? { completed: 0, total: input.learningPath.length };
    const [rows] = await runAs(db, principal, [
      db
        .insert(interventions)
        .select(
          db
            .select({
              id: sql`${crypto.randomUUID()}::uuid`.as("id"),
              studentId: students.id,
              type: sql`${input.type}`.as("type"),
              weakAreas: sql`${JSON.stringify(input.weakAreas)}::jsonb`.as("weak_areas"),
              learningPath: sql`${JSON.stringify(input.learningPath)}::jsonb`.as("learning_path"),
              status: sql`'active'`.as("status"),
              progress: sql`${JSON.stringify(progress)}::jsonb`.as("progress"),
              createdAt: sql`now()`.as("created_at"),
              completedAt: sql`null::timestamp`.as("completed_at"),
            })
            .from(students)
            .where(eq(students.id, studentId)),
        )
        .returning(columns),
    ] as const);
    if (!rows[0]) throw notFound(`student ${studentId}`);
    return c.json(rows[0], 201);
  })
  .openapi(auto, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireStaff(principal);
    const { id: studentId } = c.req.valid("param");
    const params = c.req.valid("json");
    const [created, visible] = await runAs(db, principal, [
      db.execute<Record<string, unknown>>(autoIntervention(crypto.randomUUID(), studentId, params)),
      db.select({ id: students.id }).from(students).where(eq(students.id, studentId)),
    ] as const);
    if (!visible[0]) throw notFound(`student ${studentId}`);
    const row = created.rows[0];
    if (!row) {
      throw new ApiError(
        422,
        "no_weak_areas",
        `no concept in the last ${params.windowDays} days has at least ${params.minAttempts} graded attempts with accuracy below ${params.targetMastery}`,
      );
    }
    return c.json({ ...row, createdAt: fromPgTimestamp(row.createdAt as string), completedAt: null } as z.infer<typeof Intervention>, 201);
  })
  .openapi(list, async (c) => {
    const { db } = c.var;
    const { id: studentId } = c.req.valid("param");
    const query = c.req.valid("query");
    const after = decodeCursor(query.cursor, NewestKey);
    const createdText = sql<string>`${interventions.createdAt}::text`;
    const [rows, visible] = await runAs(db, c.var.principal, [
      db
        .select({ ...columns, createdText })
        .from(interventions)
        .where(
          and(
            eq(interventions.studentId, studentId),
            query.status ? eq(interventions.status, query.status) : undefined,
            after ? sql`(${interventions.createdAt}, ${interventions.id}) < (${after[0]}::timestamp, ${after[1]}::uuid)` : undefined,
          ),
        )
        .orderBy(desc(interventions.createdAt), desc(interventions.id))
        .limit(query.limit + 1),
      db.select({ id: students.id }).from(students).where(eq(students.id, studentId)),
    ] as const);
    if (!visible[0]) throw notFound(`student ${studentId}`);
    const { items, nextCursor } = paginate(rows, query.limit, (last) => [last.createdText, last.id]);
    return c.json({ items: items.map(({ createdText: _, ...i }) => i), nextCursor }, 200);
  })
  .openapi(get, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const [rows] = await runAs(db, c.var.principal, [db.select(columns).from(interventions).where(eq(interventions.id, id))] as const);
    if (!rows[0]) throw notFound(`intervention ${id}`);
    return c.json(rows[0], 200);
  })
  .openapi(progress, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireStaff(principal);
    const { id } = c.req.valid("param");
    const { completed, total } = c.req.valid("json");
    const newTotal = total !== undefined ? sql<number>`${total}::int` : sql<number>`(${interventions.progress}->>'total')::int`;
    const [updated, current] = await runAs(db, principal, [
      db
        .update(interventions)
        .set({ progress: sql`jsonb_build_object('completed', ${completed}::int, 'total', ${newTotal})` })
        .where(and(eq(interventions.id, id), inArray(interventions.status, ["active", "paused"]), sql`${completed}::int <= ${newTotal}`))
        .returning(columns),
      db.select({ status: interventions.status, progress: interventions.progress }).from(interventions).where(eq(interventions.id, id)),
    ] as const);
    if (updated[0]) return c.json(updated[0], 200);
    const now = current[0];
    if (!now) throw notFound(`intervention ${id}`);
    if (now.status === "completed" || now.status === "cancelled") {
      throw new ApiError(409, "intervention_ended", `intervention ${id} is ${now.status}; its progress no longer changes`, { currentStatus: now.status });
    }
    throw new ApiError(422, "progress_out_of_range", `completed (${completed}) cannot exceed total (${now.progress.total})`, { progress: now.progress });
  })
  .openapi(transition, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireStaff(principal);
    const { id } = c.req.valid("param");
    const { status } = c.req.valid("json");
    const ends = status === "completed" || status === "cancelled";
    const [updated, current] = await runAs(db, principal, [
      db
        .update(interventions)
        .set({ status, completedAt: ends ? sql`now()` : null })
        .where(and(eq(interventions.id, id), inArray(interventions.status, FROM[status])))
        .returning(columns),
      db.select({ status: interventions.status }).from(interventions).where(eq(interventions.id, id)),
    ] as const);
    if (updated[0]) return c.json(updated[0], 200);
    if (!current[0]) throw notFound(`intervention ${id}`);
    const from = current[0].status;
    throw new ApiError(409, "invalid_transition", `intervention ${id} is ${from}; it cannot become ${status}`, { currentStatus: from, allowedFrom: FROM[status] });
  });
