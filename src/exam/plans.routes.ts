import { z } from "@hono/zod-openapi";
import { and, asc, count, desc, eq, gte, lte, sql } from "drizzle-orm";
import { runAs } from "../platform/db";
import { ApiError, fieldError, notFound } from "../platform/problem";
import { relayAfterResponse } from "../platform/relay";
import { createRouter } from "../platform/router";
import { defineRoute, json, jsonBody } from "../platform/route";
import { IsoDate, listOf, uuidParams } from "../platform/schemas";
import { rowSchema } from "../platform/table-schema";
import { checkRange, compressionOf, daysBetween, PlanRangeError } from "./plan-builder";
import { createPlanStatements, moveTaskStatements, planColumns, replanStatements } from "./plan-sql";
import { planTasks, plans, TASK_STATUSES } from "./schema";

export const Plan = rowSchema(plans)
  .omit({ readyIndexSnapshot: true })
  .extend({ readyIndex: z.number().int().openapi({ description: "0–100, kept current by the ReadyIndex consumer (ready_index_snapshot)" }) })
  .openapi("StudyPlan");

export const Task = rowSchema(planTasks, {
  refId: z.uuid().nullable().openapi({ description: "DRILL: the mistake_stats row (error code) it targets" }),
}).openapi("PlanTask");

const Counts = z.record(z.string(), z.number().int());

export const BuiltPlan = Plan.extend({
  compression: z.object({
    availableDays: z.number().int(),
    fullScheduleDays: z.number().int(),
    dailyBudgetMinutes: z.number().int(),
    mockDaysBeforeExam: z.array(z.number().int()),
  }),
  tasksByType: Counts.openapi({ description: "Tasks written by this request, by type" }),
  targetedDrills: z.number().int().openapi({ description: "Drills aimed at one of the caller's top error codes" }),
}).openapi("StudyPlanBuilt");

export const PlanDetail = Plan.extend({ taskCounts: Counts.openapi({ description: "By status" }) }).openapi("StudyPlanDetail");
export const PlanList = listOf(Plan, "StudyPlanList");
export const TaskList = listOf(Task, "PlanTaskList");

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

function summary(inserted: { task_type: string; ref_id: string | null }[]) {
  const tasksByType: Record<string, number> = {};
  for (const row of inserted) tasksByType[row.task_type] = (tasksByType[row.task_type] ?? 0) + 1;
  return { tasksByType, targetedDrills: inserted.filter((r) => r.ref_id).length };
}

const todayUtc = () => new Date().toISOString().slice(0, 10);

const createPlan = defineRoute(
  {
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
    responses: { 201: json(BuiltPlan, "Built") },
  },
  409,
);

const listPlans = defineRoute({
  method: "get",
  path: "/plans",
  tags: ["exam"],
  summary: "The caller's plans, newest first",
  responses: { 200: json(PlanList, "Plans") },
});

const getPlan = defineRoute(
  {
    method: "get",
    path: "/plans/{id}",
    tags: ["exam"],
    summary: "One of the caller's plans with its readiness index and task counts",
    request: { params: uuidParams("id") },
    responses: { 200: json(PlanDetail, "The plan") },
  },
  404,
);

const listTasks = defineRoute(
  {
    method: "get",
    path: "/plans/{id}/tasks",
    tags: ["exam"],
    summary: "A plan's tasks by day, optionally from/to (inclusive)",
    request: { params: uuidParams("id"), query: z.object({ from: IsoDate.optional(), to: IsoDate.optional() }) },
    responses: { 200: json(TaskList, "Tasks") },
  },
  404,
);

const patchTask = defineRoute(
  {
    method: "patch",
    path: "/plans/{id}/tasks/{taskId}",
    tags: ["exam"],
    summary: "Complete or skip a TODO task; a DONE drill aimed at a mistake emits MISTAKE_DRILL_COMPLETED",
    request: { params: uuidParams("id", "taskId"), body: jsonBody(z.object({ status: z.enum(["DONE", "SKIPPED"]) }).strict()) },
    responses: { 200: json(Task, "The task") },
  },
  404,
  409,
);

const replan = defineRoute(
  {
    method: "post",
    path: "/plans/{id}/replan",
    tags: ["exam"],
    summary: "Rebuild a plan from today with the current profile, keeping DONE tasks",
    request: { params: uuidParams("id") },
    responses: { 200: json(BuiltPlan, "Rebuilt") },
  },
  404,
  409,
);

export const planRoutes = createRouter()
  .openapi(createPlan, async (c) => {
    const { db } = c.var;
    // The body is optional: without one the validator passes nothing.
    const body = c.req.valid("json") ?? {};
    const today = todayUtc();
    const startDate = body.startDate ?? today;
    if (startDate < today) throw new ApiError(422, "plan_out_of_range", `the start date ${startDate} is in the past (today is ${today} UTC)`);
    const [created, inserted, profile] = await runAs(db, c.var.principal, createPlanStatements(db, crypto.randomUUID(), startDate));
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
        .select()
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
    const [moved, current] = await runAs(db, principal, moveTaskStatements(db, principal, id, taskId, status));
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
    const [updated, , inserted, plan, profile] = await runAs(db, principal, replanStatements(db, principal, id, today));
    if (!plan[0]) throw notFound("the plan");
    if (!updated[0] || !profile[0]) throw notPlanned(profile[0], today);
    const compression = compressionOf(profile[0].level, daysBetween(today, updated[0].examDate));
    return c.json({ ...updated[0], compression, ...summary(inserted.rows) }, 200);
  });
