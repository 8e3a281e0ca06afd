import { z } from "@hono/zod-openapi";
import { and, eq, inArray } from "drizzle-orm";
import { runAs } from "../platform/db";
import { JsonObject, patchBody } from "../platform/input";
import { keyset } from "../platform/paging";
import { ApiError, notFound } from "../platform/problem";
import { defineRoute, json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { pageOf, PageQuery, uuidParams } from "../platform/schemas";
import { columnsOf, rowSchema } from "../platform/table-schema";
import { requireAdmin, requireStaff } from "./access";
import { checkSchedule, ScheduleFields, scheduleColumns } from "./schedule";
import { scheduledTasks, TASK_STATUSES, TASK_TYPES, taskRuns } from "./schema";
import { insertForStudent } from "./student-sql";

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
      schedule: ScheduleFields.superRefine(checkSchedule).optional().openapi({ description: "a new schedule; next run recomputed" }),
    })
    .strict(),
).openapi("ScheduledTaskPatch");

export const Task = rowSchema(scheduledTasks, { config: z.record(z.string(), z.unknown()) }).openapi("ScheduledTask", {
  description: "celeryTaskId holds the id of the run that last executed the task (a TaskRun id)",
});

export const TaskPage = pageOf(Task, "ScheduledTaskPage");

export const TaskRun = rowSchema(taskRuns, { report: z.record(z.string(), z.unknown()) }).openapi("TaskRun");

export const TaskRunPage = pageOf(TaskRun, "TaskRunPage");

const ListQuery = z.object({
  studentId: z.uuid().optional(),
  status: z.enum(TASK_STATUSES).optional(),
  taskType: z.enum(TASK_TYPES).optional(),
  ...PageQuery,
});

const tags = ["hub"];
const params = uuidParams("id");

const createTask = defineRoute(
  {
    method: "post",
    path: "/tasks",
    tags,
    summary: "Schedule a task (cron, interval or one_time); the server computes nextRunAt",
    request: { body: jsonBody(TaskInput) },
    responses: { 201: json(Task, "Scheduled") },
  },
  403,
  404,
);

const getTask = defineRoute(
  { method: "get", path: "/tasks/{id}", tags, summary: "A scheduled task", request: { params }, responses: { 200: json(Task, "The task") } },
  404,
);

const listTasks = defineRoute({
  method: "get",
  path: "/tasks",
  tags,
  summary: "Scheduled tasks the caller may see, newest first (keyset pages)",
  request: { query: ListQuery },
  responses: { 200: json(TaskPage, "A page") },
});

const patchTask = defineRoute(
  {
    method: "patch",
    path: "/tasks/{id}",
    tags,
    summary: "Pause or resume a task, change its config or its schedule (not once completed)",
    request: { params, body: jsonBody(TaskPatch) },
    responses: { 200: json(Task, "Updated") },
  },
  403,
  404,
  409,
);

const deleteTask = defineRoute(
  {
    method: "delete",
    path: "/tasks/{id}",
    tags,
    summary: "Delete a task and its runs",
    request: { params },
    responses: { 204: { description: "Deleted" } },
  },
  403,
  404,
);

const listRuns = defineRoute(
  {
    method: "get",
    path: "/tasks/{id}/runs",
    tags,
    summary: "What the task's runs produced (daily reports, weekly aggregates), newest first",
    request: { params, query: z.object(PageQuery) },
    responses: { 200: json(TaskRunPage, "A page") },
  },
  404,
);

const getRun = defineRoute(
  {
    method: "get",
    path: "/tasks/{id}/runs/{runId}",
    tags,
    summary: "One run's stored report",
    request: { params: uuidParams("id", "runId") },
    responses: { 200: json(TaskRun, "The run") },
  },
  404,
);

export const taskRoutes = createRouter()
  .openapi(createTask, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireStaff(principal);
    const input = c.req.valid("json");
    if (!input.studentId) requireAdmin(principal, "schedule a task without a student");
    const row = {
      id: crypto.randomUUID(),
      taskType: input.taskType,
      config: input.config ?? {},
      status: "active" as const,
      ...scheduleColumns(input, new Date()),
    };
    const statement = input.studentId
      ? insertForStudent(db, scheduledTasks, input.studentId, row).returning()
      : db.insert(scheduledTasks).values(row).returning();
    const [rows] = await runAs(db, principal, [statement] as const);
    if (!rows[0]) throw notFound(`student ${input.studentId}`);
    return c.json(rows[0], 201);
  })
  .openapi(getTask, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const [rows] = await runAs(db, c.var.principal, [db.select().from(scheduledTasks).where(eq(scheduledTasks.id, id))] as const);
    if (!rows[0]) throw notFound(`task ${id}`);
    return c.json(rows[0], 200);
  })
  .openapi(listTasks, async (c) => {
    const { db } = c.var;
    const query = c.req.valid("query");
    const k = keyset([scheduledTasks.createdAt, scheduledTasks.id]);
    const [rows] = await runAs(db, c.var.principal, [
      db
        .select({ ...k.columns, ...columnsOf(scheduledTasks) })
        .from(scheduledTasks)
        .where(
          and(
            query.studentId ? eq(scheduledTasks.studentId, query.studentId) : undefined,
            query.status ? eq(scheduledTasks.status, query.status) : undefined,
            query.taskType ? eq(scheduledTasks.taskType, query.taskType) : undefined,
            k.after(query.cursor),
          ),
        )
        .orderBy(...k.orderBy)
        .limit(query.limit + 1),
    ] as const);
    return c.json(k.page(rows, query.limit), 200);
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
        .returning(),
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
    const k = keyset([taskRuns.createdAt, taskRuns.id]);
    const [rows, task] = await runAs(db, c.var.principal, [
      db
        .select({ ...k.columns, ...columnsOf(taskRuns) })
        .from(taskRuns)
        .where(and(eq(taskRuns.taskId, id), k.after(cursor)))
        .orderBy(...k.orderBy)
        .limit(limit + 1),
      db.select({ id: scheduledTasks.id }).from(scheduledTasks).where(eq(scheduledTasks.id, id)),
    ] as const);
    if (!task[0]) throw notFound(`task ${id}`);
    return c.json(k.page(rows, limit), 200);
  })
  .openapi(getRun, async (c) => {
    const { db } = c.var;
    const { id, runId } = c.req.valid("param");
    const [rows] = await runAs(db, c.var.principal, [db.select().from(taskRuns).where(and(eq(taskRuns.id, runId), eq(taskRuns.taskId, id)))] as const);
    if (!rows[0]) throw notFound(`run ${runId} of task ${id}`);
    return c.json(rows[0], 200);
  });
