import { z } from "@hono/zod-openapi";
import { and, eq, inArray, sql } from "drizzle-orm";
import { runAs } from "../platform/db";
import { freeJson } from "../platform/input";
import { keyset } from "../platform/paging";
import { ApiError, notFound } from "../platform/problem";
import { defineRoute, json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { pageOf, PageQuery, uuidParams } from "../platform/schemas";
import { columnsOf, rowSchema } from "../platform/table-schema";
import { requireStaff } from "./access";
import { autoIntervention } from "./intervention-sql";
import { INTERVENTION_STATUSES, INTERVENTION_TYPES, interventions } from "./schema";
import { insertForStudent, visibleStudent } from "./student-sql";

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

export const Intervention = rowSchema(interventions, {
  weakAreas: z.array(z.record(z.string(), z.unknown())),
  learningPath: z.array(z.record(z.string(), z.unknown())),
  progress: z.object({ completed: z.number().int(), total: z.number().int() }),
}).openapi("Intervention");

export const InterventionPage = pageOf(Intervention, "InterventionPage");

/** A student's id on /students/{id}/…, an intervention's on /interventions/{id}/…. */
const params = uuidParams("id");
const ListQuery = z.object({ status: z.enum(INTERVENTION_STATUSES).optional(), ...PageQuery });
const ProgressInput = z
  .object({ completed: z.number().int().min(0), total: z.number().int().min(0).optional() })
  .strict()
  .refine((p) => p.total === undefined || p.completed <= p.total, { message: "completed cannot exceed total", path: ["completed"] })
  .openapi("InterventionProgressInput");
const StatusInput = z.object({ status: z.enum(INTERVENTION_STATUSES) }).strict().openapi("InterventionStatusInput");

const tags = ["hub"];

const create = defineRoute(
  {
    method: "post",
    path: "/students/{id}/interventions",
    tags,
    summary: "Create an intervention (auto or teacher_requested) with its weak areas and learning path",
    request: { params, body: jsonBody(InterventionInput) },
    responses: { 201: json(Intervention, "Created") },
  },
  403,
  404,
);

const auto = defineRoute(
  {
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
    request: { params, body: jsonBody(AutoInput) },
    responses: { 201: json(Intervention, "Created") },
  },
  403,
  404,
);

const list = defineRoute(
  {
    method: "get",
    path: "/students/{id}/interventions",
    tags,
    summary: "A student's interventions, newest first (status=active is served by the partial index idx_interventions_active)",
    request: { params, query: ListQuery },
    responses: { 200: json(InterventionPage, "A page") },
  },
  404,
);

const get = defineRoute(
  { method: "get", path: "/interventions/{id}", tags, summary: "An intervention", request: { params }, responses: { 200: json(Intervention, "The intervention") } },
  404,
);

const progress = defineRoute(
  {
    method: "patch",
    path: "/interventions/{id}/progress",
    tags,
    summary: "Record progress (completed steps, optionally a new total) of an active or paused intervention",
    request: { params, body: jsonBody(ProgressInput) },
    responses: { 200: json(Intervention, "Updated") },
  },
  403,
  404,
  409,
);

const transition = defineRoute(
  {
    method: "post",
    path: "/interventions/{id}/status",
    tags,
    summary: "Change status: active ↔ paused, active|paused → completed|cancelled (sets completedAt)",
    request: { params, body: jsonBody(StatusInput) },
    responses: { 200: json(Intervention, "Changed") },
  },
  403,
  404,
  409,
);

export const interventionRoutes = createRouter()
  .openapi(create, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireStaff(principal);
    const { id: studentId } = c.req.valid("param");
    const input = c.req.valid("json");
    const progress = input.progress ?? { completed: 0, total: input.learningPath.length };
    const row = { id: crypto.randomUUID(), type: input.type, weakAreas: input.weakAreas, learningPath: input.learningPath, status: "active" as const, progress };
    const [rows] = await runAs(db, principal, [insertForStudent(db, interventions, studentId, row).returning()] as const);
    if (!rows[0]) throw notFound(`student ${studentId}`);
    return c.json(rows[0], 201);
  })
  .openapi(auto, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireStaff(principal);
    const { id: studentId } = c.req.valid("param");
    const rule = c.req.valid("json");
    const id = crypto.randomUUID();
    // The same transaction reads the new row back, through the table's own column decoding.
    const [, created, visible] = await runAs(db, principal, [
      db.execute(autoIntervention(id, studentId, rule)),
      db.select().from(interventions).where(eq(interventions.id, id)),
      visibleStudent(db, studentId),
    ] as const);
    if (!visible[0]) throw notFound(`student ${studentId}`);
    if (!created[0]) {
      throw new ApiError(
        422,
        "no_weak_areas",
        `no concept in the last ${rule.windowDays} days has at least ${rule.minAttempts} graded attempts with accuracy below ${rule.targetMastery}`,
      );
    }
    return c.json(created[0], 201);
  })
  .openapi(list, async (c) => {
    const { db } = c.var;
    const { id: studentId } = c.req.valid("param");
    const query = c.req.valid("query");
    const k = keyset([interventions.createdAt, interventions.id]);
    const [rows, visible] = await runAs(db, c.var.principal, [
      db
        .select({ ...k.columns, ...columnsOf(interventions) })
        .from(interventions)
        .where(and(eq(interventions.studentId, studentId), query.status ? eq(interventions.status, query.status) : undefined, k.after(query.cursor)))
        .orderBy(...k.orderBy)
        .limit(query.limit + 1),
      visibleStudent(db, studentId),
    ] as const);
    if (!visible[0]) throw notFound(`student ${studentId}`);
    return c.json(k.page(rows, query.limit), 200);
  })
  .openapi(get, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const [rows] = await runAs(db, c.var.principal, [db.select().from(interventions).where(eq(interventions.id, id))] as const);
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
        .returning(),
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
        .returning(),
      db.select({ status: interventions.status }).from(interventions).where(eq(interventions.id, id)),
    ] as const);
    if (updated[0]) return c.json(updated[0], 200);
    if (!current[0]) throw notFound(`intervention ${id}`);
    const from = current[0].status;
    throw new ApiError(409, "invalid_transition", `intervention ${id} is ${from}; it cannot become ${status}`, { currentStatus: from, allowedFrom: FROM[status] });
  });
