import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { runAs } from "../platform/db";
import { problemResponses } from "../platform/openapi";
import { ApiError, notFound } from "../platform/problem";
import { createRouter } from "../platform/router";
import { isAdmin, requireStaff } from "./access";
import { CursorParam as Cursor, decodeCursor, Limit, paginate, PgTimestampKey } from "../platform/paging";
import { Timestamp } from "./paging";
import { cronProblem, nextRunAt, type Schedule } from "./schedule";
import { SCHEDULE_TYPES, scheduledTasks, students, TASK_STATUSES, TASK_TYPES, taskRuns } from "./schema";
import { JsonObject, patchBody } from "../platform/input";

/** Every tick is a minute: a shorter interval could not be kept. */
const MIN_INTERVAL_SECONDS = 60;

const ScheduleFields = z.object({
  scheduleType: z.enum(SCHEDULE_TYPES),
  cronExpression: z.string().max(100).nullish().openapi({ description: "five-field cron, UTC (scheduleType cron)", example: "0 9 * * *" }),
  intervalSeconds: z.number().int().min(MIN_INTERVAL_SECONDS).max(366 * 86_400).nullish().openapi({ description: "scheduleType interval" }),
  runAt: Timestamp.nullish().openapi({ description: "scheduleType one_time" }),
});

/** Exactly the field its schedule type uses; the cron expression must parse. */
function checkSchedule(s: z.infer<typeof ScheduleFields>, ctx: z.RefinementCtx, prefix: (string | number)[] = []) {
  const uses = { cron: "cronExpression", interval: "intervalSeconds", one_time: "runAt" } as const;
  for (const [type, field] of Object.entries(uses)) {
    const present = s[field] !== undefined && s[field] !== null;
    if (type === s.scheduleType && !present) ctx.addIssue({ code: "custom", path: [...prefix, field], message: `required when scheduleType is ${type}` });
    if (type !== s.scheduleType && present) ctx.addIssue({ code: "custom", path: [...prefix, field], message: `only allowed when scheduleType is ${type}` });
  }
  if (s.scheduleType === "cron" && s.cronExpression) {
    const problem = cronProblem(s.cronExpression);
    if (problem) ctx.addIssue({ code: "custom", path: [...prefix, "cronExpression"], message: problem });
  }
}

const Config = JsonObject.openapi({ example: { window_hours: 24, include_sections: ["progress", "recommendations"] } });

const TaskInput = ScheduleFields.extend({
  studentId: z.uuid().nullish().openapi({ description: "daily_report: the student; weekly_analytics: none (global, admins only)" }),
  taskType: z.enum(TASK_TYPES),
  config: Config.optional(),
})
  .strict()
  .superRefine((t, ctx) => {
    checkSchedule(t, ctx);
    if (t.taskType === "daily_report" && !t.studentId) ctx.addIssue({ code: "custom", path: ["studentId"], message: "a daily_report is for one student" });
    if (t.taskType === "weekly_analytics" && t.studentId) ctx.addIssue({ code: "custom", path: ["studentId"], message: "weekly_analytics is school-level; give config.school_id instead" });
  })
  .openapi("ScheduledTaskInput");

const TaskPatch = patchBody(
  z
    .object({
      status: z.enum(["active", "paused"]).optional(),
      config: Config.optional(),
      schedule: ScheduleFields.superRefine((s, ctx) => checkSchedule(s, ctx)).optional().openapi({ description: "a new schedule; next run recomputed" }),
    })
    .strict(),
).openapi("ScheduledTaskPatch");

export const Task = z
  .object({
    id: z.uuid(),
    studentId: z.uuid().nullable(),
    taskType: z.enum(TASK_TYPES),
    scheduleType: z.enum(SCHEDULE_TYPES),
    cronExpression: z.string().nullable(),
    intervalSeconds: z.number().int().nullable(),
    config: z.record(z.string(), z.unknown()),
    status: z.enum(TASK_STATUSES),
    nextRunAt: z.iso.datetime().nullable(),
    lastRunAt: z.iso.datetime().nullable(),
    celeryTaskId: z.string().nullable().openapi({ description: "id of the run that last executed the task (a taskRun id)" }),
    createdAt: z.iso.datetime(),
  })
  .openapi("ScheduledTask");

const TaskRun = z
  .object({
    id: z.uuid(),
    taskId: z.uuid(),
    studentId: z.uuid().nullable(),
    taskType: z.string(),
    report: z.record(z.string(), z.unknown()),
    scheduledFor: z.iso.datetime(),
    createdAt: z.iso.datetime(),
  })
  .openapi("TaskRun");

const page = <T extends z.ZodType>(item: T, name: string) => z.object({ items: z.array(item), nextCursor: z.string().nullable() }).openapi(name);

const IdParam = z.object({ id: z.uuid() });
const ListQuery = z.object({
  studentId: z.uuid().optional(),
  status: z.enum(TASK_STATUSES).optional(),
  taskType: z.enum(TASK_TYPES).optional(),
  limit: Limit,
  cursor: Cursor,
});

export const taskColumns = {
  id: scheduledTasks.id,
  studentId: scheduledTasks.studentId,
  taskType: scheduledTasks.taskType,
  scheduleType: scheduledTasks.scheduleType,
  cronExpression: scheduledTasks.cronExpression,
  intervalSeconds: scheduledTasks.intervalSeconds,
  config: scheduledTasks.config,
  status: scheduledTasks.status,
  nextRunAt: scheduledTasks.nextRunAt,
  lastRunAt: scheduledTasks.lastRunAt,
  celeryTaskId: scheduledTasks.celeryTaskId,
  createdAt: scheduledTasks.createdAt,
};

const runColumns = {
  id: taskRuns.id,
  taskId: taskRuns.taskId,
  studentId: taskRuns.studentId,
  taskType: taskRuns.taskType,
  report: taskRuns.report,
  scheduledFor: taskRuns.scheduledFor,
  createdAt: taskRuns.createdAt,
};

const tags = ["hub"];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });

const createTask = createRoute({
  method: "post",
  path: "/tasks",
  tags,
  summary: "Schedule a task (cron, interval or one_time); the server computes nextRunAt",
  request: { body: { required: true, content: { "application/json": { schema: TaskInput } } } },
  responses: { 201: json(Task, "Scheduled"), ...problemResponses(401, 403, 404, 413, 415, 422, 429) },
});
const getTask = createRoute({
  method: "get",
  path: "/tasks/{id}",
  tags,
  summary: "A scheduled task",
  request: { params: IdParam },
  responses: { 200: json(Task, "The task"), ...problemResponses(401, 403, 404, 422, 429) },
});
const listTasks = createRoute({
  method: "get",
  path: "/tasks",
  tags,
  summary: "Scheduled tasks the caller may see, newest first (keyset pages)",
  request: { query: ListQuery },
  responses: { 200: json(page(Task, "ScheduledTaskPage"), "A page"), ...problemResponses(401, 403, 422, 429) },
});
const patchTask = createRoute({
  method: "patch",
  path: "/tasks/{id}",
  tags,
  summary: "Pause or resume a task, change its config or its schedule (not once completed)",
  request: { params: IdParam, body: { required: true, content: { "application/json": { schema: TaskPatch } } } },
  responses: { 200: json(Task, "Updated"), ...problemResponses(401, 403, 404, 409, 413, 415, 422, 429) },
});
const deleteTask = createRoute({
  method: "delete",
  path: "/tasks/{id}",
  tags,
  summary: "Delete a task and its runs",
  request: { params: IdParam },
  responses: { 204: { description: "Deleted" }, ...problemResponses(401, 403, 404, 422, 429) },
});
const listRuns = createRoute({
  method: "get",
  path: "/tasks/{id}/runs",
  tags,
  summary: "What the task's runs produced (daily reports, weekly aggregates), newest first",
  request: { params: IdParam, query: z.object({ limit: Limit, cursor: Cursor }) },
  responses: { 200: json(page(TaskRun, "TaskRunPage"), "A page"), ...problemResponses(401, 403, 404, 422, 429) },
});
const getRun = createRoute({
  method: "get",
  path: "/tasks/{id}/runs/{runId}",
  tags,
  summary: "One run's stored report",
  request: { params: z.object({ id: z.uuid(), runId: z.uuid() }) },
  responses: { 200: json(TaskRun, "The run"), ...problemResponses(401, 403, 404, 422, 429) },
});

const NewestKey = z.tuple([PgTimestampKey, z.uuid()]);

const scheduleColumns = (s: Schedule, now: Date) => ({
  scheduleType: s.scheduleType,
  cronExpression: s.cronExpression ?? null,
  intervalSeconds: s.intervalSeconds ?? null,
  nextRunAt: nextRunAt(s, now, true),
});

export const taskRoutes = createRouter()
  .openapi(createTask, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireStaff(principal);
    const input = c.req.valid("json");
    if (!input.studentId && !isAdmin(principal)) throw new ApiError(403, "admin_only", "only an admin may schedule a task without a student");
    const row = {
      id: crypto.randomUUID(),
      studentId: input.studentId ?? null,
      taskType: input.taskType,
      config: input.config ?? {},
      status: "active" as const,
      ...scheduleColumns(input, new Date()),
    };
    const statement = input.studentId
      ? // Inserted through the student row, so RLS decides in the same statement whether the caller may.
        db
          .insert(scheduledTasks)
          .select(
            db
              .select({
                id: sql`${row.id}::uuid`.as("id"),
                studentId: students.id,
                taskType: sql`${row.taskType}`.as("task_type"),
                scheduleType: sql`${row.scheduleType}`.as("schedule_type"),
                cronExpression: sql`${row.cronExpression}::varchar`.as("cron_expression"),
                config: sql`${JSON.stringify(row.config)}::jsonb`.as("config"),
                status: sql`'active'`.as("status"),
                nextRunAt: sql`${row.nextRunAt?.toISOString() ?? null}::timestamp`.as("next_run_at"),
                lastRunAt: sql`null::timestamp`.as("last_run_at"),
                celeryTaskId: sql`null::varchar`.as("celery_task_id"),
                createdAt: sql`now()`.as("created_at"),
                intervalSeconds: sql`${row.intervalSeconds}::int`.as("interval_seconds"),
              })
              .from(students)
              .where(eq(students.id, input.studentId)),
          )
          .returning(taskColumns)
      : db.insert(scheduledTasks).values(row).returning(taskColumns);
    const [rows] = await runAs(db, principal, [statement] as const);
    if (!rows[0]) throw notFound(`student ${input.studentId}`);
    return c.json(rows[0], 201);
  })
  .openapi(getTask, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const [rows] = await runAs(db, c.var.principal, [db.select(taskColumns).from(scheduledTasks).where(eq(scheduledTasks.id, id))] as const);
    if (!rows[0]) throw notFound(`task ${id}`);
    return c.json(rows[0], 200);
  })
  .openapi(listTasks, async (c) => {
    const { db } = c.var;
    const query = c.req.valid("query");
    const after = decodeCursor(query.cursor, NewestKey);
    const createdText = sql<string>`${scheduledTasks.createdAt}::text`;
    const [rows] = await runAs(db, c.var.principal, [
      db
        .select({ ...taskColumns, createdText })
        .from(scheduledTasks)
        .where(
          and(
            query.studentId ? eq(scheduledTasks.studentId, query.studentId) : undefined,
            query.status ? eq(scheduledTasks.status, query.status) : undefined,
            query.taskType ? eq(scheduledTasks.taskType, query.taskType) : undefined,
            after ? sql`(${scheduledTasks.createdAt}, ${scheduledTasks.id}) < (${after[0]}::timestamp, ${after[1]}::uuid)` : undefined,
          ),
        )
        .orderBy(desc(scheduledTasks.createdAt), desc(scheduledTasks.id))
        .limit(query.limit + 1),
    ] as const);
    const { items, nextCursor } = paginate(rows, query.limit, (last) => [last.createdText, last.id]);
    return c.json({ items: items.map(({ createdText: _, ...t }) => t), nextCursor }, 200);
  })
  .openapi(patchTask, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireStaff(principal);
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    const [updated, current] = await runAs(db, principal, [
      db
        .update(scheduledTasks)
        .set({
          status: input.status,
          config: input.config,
          ...(input.schedule ? scheduleColumns(input.schedule, new Date()) : {}),
        })
        .where(and(eq(scheduledTasks.id, id), inArray(scheduledTasks.status, ["active", "paused"])))
        .returning(taskColumns),
      db.select({ status: scheduledTasks.status }).from(scheduledTasks).where(eq(scheduledTasks.id, id)),
    ] as const);
    if (updated[0]) return c.json(updated[0], 200);
    if (!current[0]) throw notFound(`task ${id}`);
    throw new ApiError(409, "task_completed", `task ${id} is ${current[0].status}; it no longer changes`, { currentStatus: current[0].status });
  })
  .openapi(deleteTask, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireStaff(principal);
    const { id } = c.req.valid("param");
    const [rows] = await runAs(db, principal, [db.delete(scheduledTasks).where(eq(scheduledTasks.id, id)).returning({ id: scheduledTasks.id })] as const);
    if (!rows[0]) throw notFound(`task ${id}`);
    return c.body(null, 204);
  })
  .openapi(listRuns, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const { limit, cursor } = c.req.valid("query");
    const after = decodeCursor(cursor, NewestKey);
    const createdText = sql<string>`${taskRuns.createdAt}::text`;
    const [rows, task] = await runAs(db, c.var.principal, [
      db
        .select({ ...runColumns, createdText })
        .from(taskRuns)
        .where(and(eq(taskRuns.taskId, id), after ? sql`(${taskRuns.createdAt}, ${taskRuns.id}) < (${after[0]}::timestamp, ${after[1]}::uuid)` : undefined))
        .orderBy(desc(taskRuns.createdAt), desc(taskRuns.id))
        .limit(limit + 1),
      db.select({ id: scheduledTasks.id }).from(scheduledTasks).where(eq(scheduledTasks.id, id)),
    ] as const);
    if (!task[0]) throw notFound(`task ${id}`);
    const { items, nextCursor } = paginate(rows, limit, (last) => [last.createdText, last.id]);
    return c.json({ items: items.map(({ createdText: _, ...r }) => r), nextCursor }, 200);
  })
  .openapi(getRun, async (c) => {
    const { db } = c.var;
    const { id, runId } = c.req.valid("param");
    const [rows] = await runAs(db, c.var.principal, [
      db.select(runColumns).from(taskRuns).where(and(eq(taskRuns.id, runId), eq(taskRuns.taskId, id))),
    ] as const);
    if (!rows[0]) throw notFound(`run ${runId} of task ${id}`);
    return c.json(rows[0], 200);
  });
