import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, count, desc, eq, gte, lte, sql, type SQL } from "drizzle-orm";
import { runAs, type Database } from "../platform/db";
import { problemResponses } from "../platform/openapi";
import { ApiError, fieldError, notFound } from "../platform/problem";
import { createRouter } from "../platform/router";
import { outboxFrom } from "./outbox-from";
import {
  checkRange,
  COMPRESSED_MOCKS,
  compressionOf,
  dayTemplates,
  daysBetween,
  FULL_MOCKS,
  FULL_SCHEDULE_DAYS,
  LAB_EVERY,
  MAX_PLAN_DAYS,
  MIN_DAYS_FOR_COMPRESSED_MOCK,
  MINUTES,
  PlanRangeError,
} from "./plan-builder";
import { examProfiles, planTasks, plans, TASK_STATUSES, TASK_TYPES } from "./schema";
import { relayAfterResponse } from "../platform/relay";

const IsoDate = z.iso.date().refine((d) => d >= "2000-01-01" && d <= "2100-12-31", "must be between 2000-01-01 and 2100-12-31");

const Plan = z
  .object({
    id: z.uuid(),
    userId: z.uuid(),
    examProfileId: z.uuid(),
    startDate: z.iso.date(),
    examDate: z.iso.date(),
    compressionFlag: z.boolean(),
    readyIndex: z.number().int().openapi({ description: "0–100, kept current by the ReadyIndex consumer (ready_index_snapshot)" }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi("StudyPlan");

const Task = z
  .object({
    id: z.uuid(),
    planId: z.uuid(),
    taskDate: z.iso.date(),
    taskType: z.enum(TASK_TYPES),
    refId: z.uuid().nullable().openapi({ description: "DRILL: the mistake_stats row (error code) it targets" }),
    status: z.enum(TASK_STATUSES),
    estMinutes: z.number().int(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi("PlanTask");

const Counts = z.record(z.string(), z.number().int());

const BuiltResponse = Plan.extend({
  compression: z.object({
    availableDays: z.number().int(),
    fullScheduleDays: z.number().int(),
    dailyBudgetMinutes: z.number().int(),
    mockDaysBeforeExam: z.array(z.number().int()),
  }),
  tasksByType: Counts.openapi({ description: "Tasks written by this request, by type" }),
  targetedDrills: z.number().int().openapi({ description: "Drills aimed at one of the caller's top error codes" }),
}).openapi("StudyPlanBuilt");

const planColumns = {
  id: plans.id,
  userId: plans.userId,
  examProfileId: plans.examProfileId,
  startDate: plans.startDate,
  examDate: plans.examDate,
  compressionFlag: plans.compressionFlag,
  readyIndex: plans.readyIndexSnapshot,
  createdAt: plans.createdAt,
  updatedAt: plans.updatedAt,
};

const taskColumns = {
  id: planTasks.id,
  planId: planTasks.planId,
  taskDate: planTasks.taskDate,
  taskType: planTasks.taskType,
  refId: planTasks.refId,
  status: planTasks.status,
  estMinutes: planTasks.estMinutes,
  createdAt: planTasks.createdAt,
  updatedAt: planTasks.updatedAt,
};

/** The day table as compact rows: one per (level, target, compressed, day shape), tasks comma-joined. */
const TEMPLATES = JSON.stringify(
  dayTemplates().map((t) => ({ lvl: t.level, tgt: t.targetType, cmp: t.compressed, knd: t.kind, aft: t.afterMock, lab: t.labDay, tasks: t.tasks.join(",") })),
);
const pgIntArray = (xs: number[]) => `{${xs.join(",")}}`;

/**
 * Writes every task of plan `planId` from `fromDate` to the day before its exam in one multi-row
 * INSERT … SELECT: the profile's level and target pick day templates (plan-builder.ts), each day's
 * shape is worked out here exactly as `dayShape` does, and drill n aims at the caller's top error
 * codes round-robin (mistake_stats, top 5 by occurrences; none without mistakes). It does what
 * `buildPlan` does, in the database, so a request reads the profile and writes the plan in one
 * round trip; exam-plans.test.ts holds the two to the same output. Writes nothing unless `guard`.
 */
function insertTasks(db: Database, planId: string, fromDate: SQL, guard: SQL) {
  return db.execute<{ task_type: string; ref_id: string | null }>(sql`
    with p as (
      select pr.level, pr.target_type, ${fromDate} as from_date, pl.exam_date - ${fromDate} as n
        from exam.plans pl join exam.exam_profiles pr on pr.id = pl.exam_profile_id
       where pl.id = ${planId}::uuid and ${guard}
    ), shaped as (
      select p.*, g.i, p.n - g.i as before,
             case when p.n >= ${FULL_SCHEDULE_DAYS}::int then ${pgIntArray(FULL_MOCKS)}::int[]
                  when p.n >= ${MIN_DAYS_FOR_COMPRESSED_MOCK}::int then ${pgIntArray(COMPRESSED_MOCKS)}::int[]
                  else '{}'::int[] end as mocks
        from p, generate_series(0, p.n - 1) as g(i)
    ), days as (
      select s.from_date + s.i as task_date, s.level, s.target_type, s.n < ${FULL_SCHEDULE_DAYS}::int as compressed,
             case when s.before = any(s.mocks) then 'MOCK' when s.before = 1 and s.n > 1 then 'LAST' else 'STUDY' end as kind,
             (s.before + 1) = any(s.mocks) as after_mock,
             s.i % (${JSON.stringify(LAB_EVERY)}::jsonb ->> s.target_type)::int = 0 as lab_day
        from shaped s
    ), planned as (
      select d.task_date, x.seq, x.task_type, (${JSON.stringify(MINUTES)}::jsonb -> d.level ->> x.task_type)::int as est_minutes
        from days d
        join jsonb_to_recordset(${TEMPLATES}::jsonb) as t(lvl text, tgt text, cmp boolean, knd text, aft boolean, lab boolean, tasks text)
          on t.lvl = d.level and t.tgt = d.target_type and t.cmp = d.compressed and t.knd = d.kind
         and t.aft = (d.kind = 'STUDY' and d.after_mock) and t.lab = (d.kind = 'STUDY' and d.lab_day)
        cross join lateral unnest(string_to_array(t.tasks, ',')) with ordinality as x(task_type, seq)
    ), numbered as (
      select pt.*, case when pt.task_type = 'DRILL' then row_number() over (partition by pt.task_type order by pt.task_date, pt.seq) end as drill_no
        from planned pt
    ), top as (
      select m.id, (row_number() over (order by m.occurrences desc, m.error_code) - 1)::int as rn
        from exam.mistake_stats m
       where m.user_id = app.user_id() and m.occurrences > 0
       order by m.occurrences desc, m.error_code
       limit 5
    ), top_count as (select count(*)::int as n from top)
    insert into exam.plan_tasks (id, plan_id, task_date, task_type, ref_id, status, est_minutes)
    select gen_random_uuid(), ${planId}::uuid, nb.task_date, nb.task_type, top.id, 'TODO', nb.est_minutes
      from numbered nb
      cross join top_count
      left join top on nb.drill_no is not null and top.rn = (nb.drill_no - 1)::int % nullif(top_count.n, 0)
    returning task_type, ref_id`);
}

/** The caller's profile, read in the same batch: explains a plan that was not written. */
const profileOf = (db: Database) =>
  db
    .select({ level: examProfiles.level, examDate: examProfiles.examDate })
    .from(examProfiles)
    .where(sql`${examProfiles.userId} = app.user_id()`);

/** 409 without a profile, else 422 naming why the dates allow no plan. */
function notPlanned(profile: { examDate: string } | undefined, fromDate: string): ApiError {
  if (!profile) return new ApiError(409, "profile_required", "create your exam profile (PUT /api/v1/exam/profile) before building a plan");
  try {
    checkRange(daysBetween(fromDate, profile.examDate));
  } catch (err) {
    if (err instanceof PlanRangeError) return new ApiError(422, "plan_out_of_range", `${err.message} (start ${fromDate}, exam ${profile.examDate})`);
    throw err;
  }
  return new ApiError(409, "profile_changed", "the exam profile changed while the plan was written; retry");
}

/** Plans are 1..MAX_PLAN_DAYS days long (SQL side of checkRange). */
const inRange = (days: SQL) => sql`${days} between 1 and ${MAX_PLAN_DAYS}::int`;

function summary(inserted: { task_type: string; ref_id: string | null }[]) {
  const tasksByType: Record<string, number> = {};
  for (const row of inserted) tasksByType[row.task_type] = (tasksByType[row.task_type] ?? 0) + 1;
  return { tasksByType, targetedDrills: inserted.filter((r) => r.ref_id).length };
}

const todayUtc = () => new Date().toISOString().slice(0, 10);
const PlanId = z.object({ id: z.uuid().openapi({ param: { name: "id", in: "path" } }) });

const createPlan = createRoute({
  method: "post",
  path: "/plans",
  tags: ["exam"],
  summary: "Build a study plan from the caller's exam profile (rules: docs/exam.md); plan and tasks in one batch",
  request: {
    body: {
      required: false,
      content: { "application/json": { schema: z.object({ startDate: IsoDate.optional().openapi({ description: "Default today (UTC); not in the past" }) }).strict() } },
    },
  },
  responses: {
    201: { description: "Built", content: { "application/json": { schema: BuiltResponse } } },
    ...problemResponses(401, 409, 413, 415, 422, 429),
  },
});

const listPlans = createRoute({
  method: "get",
  path: "/plans",
  tags: ["exam"],
  summary: "The caller's plans, newest first",
  responses: {
    200: { description: "Plans", content: { "application/json": { schema: z.object({ items: z.array(Plan) }) } } },
    ...problemResponses(401, 429),
  },
});

const getPlan = createRoute({
  method: "get",
  path: "/plans/{id}",
  tags: ["exam"],
  summary: "One of the caller's plans with its readiness index and task counts",
  request: { params: PlanId },
  responses: {
    200: {
      description: "The plan",
      content: { "application/json": { schema: Plan.extend({ taskCounts: Counts.openapi({ description: "By status" }) }).openapi("StudyPlanDetail") } },
    },
    ...problemResponses(401, 404, 422, 429),
  },
});

const listTasks = createRoute({
  method: "get",
  path: "/plans/{id}/tasks",
  tags: ["exam"],
  summary: "A plan's tasks by day, optionally from/to (inclusive)",
  request: { params: PlanId, query: z.object({ from: IsoDate.optional(), to: IsoDate.optional() }) },
  responses: {
    200: { description: "Tasks", content: { "application/json": { schema: z.object({ items: z.array(Task) }) } } },
    ...problemResponses(401, 404, 422, 429),
  },
});

const patchTask = createRoute({
  method: "patch",
  path: "/plans/{id}/tasks/{taskId}",
  tags: ["exam"],
  summary: "Complete or skip a TODO task; a DONE drill aimed at a mistake emits MISTAKE_DRILL_COMPLETED",
  request: {
    params: PlanId.extend({ taskId: z.uuid().openapi({ param: { name: "taskId", in: "path" } }) }),
    body: { required: true, content: { "application/json": { schema: z.object({ status: z.enum(["DONE", "SKIPPED"]) }).strict() } } },
  },
  responses: {
    200: { description: "The task", content: { "application/json": { schema: Task } } },
    ...problemResponses(401, 404, 409, 413, 415, 422, 429),
  },
});

const replan = createRoute({
  method: "post",
  path: "/plans/{id}/replan",
  tags: ["exam"],
  summary: "Rebuild a plan from today with the current profile, keeping DONE tasks",
  request: { params: PlanId },
  responses: {
    200: { description: "Rebuilt", content: { "application/json": { schema: BuiltResponse } } },
    ...problemResponses(401, 404, 409, 422, 429),
  },
});

export const planRoutes = createRouter()
  .openapi(createPlan, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    // The body is optional: without one the validator passes nothing.
    const body = c.req.valid("json") ?? {};
    const today = todayUtc();
    const startDate = body.startDate ?? today;
    if (startDate < today) throw new ApiError(422, "plan_out_of_range", `the start date ${startDate} is in the past (today is ${today} UTC)`);
    const planId = crypto.randomUUID();
    const [created, inserted, profile] = await runAs(db, principal, [
      db
        .insert(plans)
        .select(
          sql`select ${planId}::uuid, p.user_id, p.id, ${startDate}::date, p.exam_date, (p.exam_date - ${startDate}::date) < ${FULL_SCHEDULE_DAYS}::int, 0, now(), now()
                from exam.exam_profiles p where p.user_id = app.user_id() and ${inRange(sql`p.exam_date - ${startDate}::date`)}`,
        )
        .returning(planColumns),
      // The plan id is new: the plan exists only if the statement above inserted it.
      insertTasks(db, planId, sql`pl.start_date`, sql`true`),
      profileOf(db),
    ] as const);
    if (!created[0] || !profile[0]) throw notPlanned(profile[0], startDate);
    const compression = compressionOf(profile[0].level, daysBetween(startDate, created[0].examDate));
    return c.json({ ...created[0], compression, ...summary(inserted.rows) }, 201);
  })
  .openapi(listPlans, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const [items] = await runAs(db, principal, [
      db.select(planColumns).from(plans).where(eq(plans.userId, principal.userId)).orderBy(desc(plans.createdAt)).limit(100),
    ] as const);
    return c.json({ items }, 200);
  })
  .openapi(getPlan, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const { id } = c.req.valid("param");
    const [rows, counts] = await runAs(db, principal, [
      db.select(planColumns).from(plans).where(and(eq(plans.id, id), eq(plans.userId, principal.userId))),
      db.select({ status: planTasks.status, n: count() }).from(planTasks).where(eq(planTasks.planId, id)).groupBy(planTasks.status),
    ] as const);
    if (!rows[0]) throw notFound("the plan");
    const taskCounts = Object.fromEntries(TASK_STATUSES.map((s) => [s, counts.find((r) => r.status === s)?.n ?? 0]));
    return c.json({ ...rows[0], taskCounts }, 200);
  })
  .openapi(listTasks, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const { id } = c.req.valid("param");
    const { from, to } = c.req.valid("query");
    if (from && to && from > to) throw fieldError("query.from", "must not be after to");
    const [items, plan] = await runAs(db, principal, [
      db
        .select(taskColumns)
        .from(planTasks)
        // (plan_id, task_date) range: idx_plan_tasks_plan_date.
        .where(and(eq(planTasks.planId, id), from ? gte(planTasks.taskDate, from) : undefined, to ? lte(planTasks.taskDate, to) : undefined))
        // Within a day: the mock alone, else the lab before its review, drills last.
        .orderBy(asc(planTasks.taskDate), sql`array_position(array['MOCK','LAB','REVIEW','DRILL'], ${planTasks.taskType})`, asc(planTasks.id)),
      db.select({ id: plans.id }).from(plans).where(and(eq(plans.id, id), eq(plans.userId, principal.userId))),
    ] as const);
    if (!plan[0]) throw notFound("the plan");
    return c.json({ items }, 200);
  })
  .openapi(patchTask, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const { id, taskId } = c.req.valid("param");
    const { status } = c.req.valid("json");
    const task = and(eq(planTasks.id, taskId), eq(planTasks.planId, id));
    const update = db
      .update(planTasks)
      .set({ status, updatedAt: sql`now()` })
      .where(and(task, eq(planTasks.status, "TODO")))
      .returning({ id: planTasks.id, planId: planTasks.planId, taskType: planTasks.taskType, refId: planTasks.refId, status: planTasks.status });
    const [moved, current] = await runAs(db, principal, [
      db.execute<{ id: string }>(sql`
        with moved as (${update.getSQL()}),
        event as (${outboxFrom(sql`moved join exam.mistake_stats m on m.id = moved.ref_id where moved.task_type = 'DRILL' and moved.status = 'DONE'`, {
          eventType: "MISTAKE_DRILL_COMPLETED",
          actorId: principal.userId,
          entityId: sql`moved.id::text`,
          payload: sql`jsonb_build_object('taskId', moved.id, 'planId', moved.plan_id, 'mistakeId', m.id, 'errorCode', m.error_code)`,
        })})
        select id from moved`),
      // Row-level security limits this to the caller's plans.
      db.select(taskColumns).from(planTasks).where(task),
    ] as const);
    if (!current[0]) throw notFound("the task");
    if (!moved.rows.length) {
      throw new ApiError(409, "invalid_state", `only a TODO task can become ${status}: the task is ${current[0].status}`, { currentStatus: current[0].status });
    }
    if (current[0].taskType === "DRILL" && current[0].status === "DONE") relayAfterResponse(c);
    return c.json(current[0], 200);
  })
  .openapi(replan, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const { id } = c.req.valid("param");
    const today = todayUtc();
    // Statements 2 and 3 run only if statement 1 rewrote the plan (its row version is this transaction's).
    const rewritten = sql`pl.xmin = pg_current_xact_id()::xid`;
    const [updated, , inserted, plan, profile] = await runAs(db, principal, [
      db
        .update(plans)
        .set({
          examDate: sql`p.exam_date`,
          compressionFlag: sql`(p.exam_date - ${today}::date) < ${FULL_SCHEDULE_DAYS}::int`,
          updatedAt: sql`now()`,
        })
        .from(sql`exam.exam_profiles p`)
        .where(and(eq(plans.id, id), eq(plans.userId, principal.userId), sql`p.id = ${plans.examProfileId}`, inRange(sql`p.exam_date - ${today}::date`)))
        .returning(planColumns),
      db.delete(planTasks).where(
        and(eq(planTasks.planId, id), sql`${planTasks.status} <> 'DONE'`, sql`exists (select 1 from exam.plans pl where pl.id = ${id}::uuid and ${rewritten})`),
      ),
      insertTasks(db, id, sql`${today}::date`, rewritten),
      db.select({ id: plans.id }).from(plans).where(and(eq(plans.id, id), eq(plans.userId, principal.userId))),
      profileOf(db),
    ] as const);
    if (!plan[0]) throw notFound("the plan");
    if (!updated[0] || !profile[0]) throw notPlanned(profile[0], today);
    const compression = compressionOf(profile[0].level, daysBetween(today, updated[0].examDate));
    return c.json({ ...updated[0], compression, ...summary(inserted.rows) }, 200);
  });
