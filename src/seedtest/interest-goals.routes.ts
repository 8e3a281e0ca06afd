import { z } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import { runAs } from "../platform/db";
import { keyset } from "../platform/paging";
import { defineRoute, json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { PageQuery, pageOf, textParams } from "../platform/schemas";
import { columnsOf, insertSchema, rowSchema } from "../platform/table-schema";
import { interestGoals } from "./schema";
import { callerId, UserId } from "./shared";

const GoalInput = insertSchema(interestGoals, {
  userId: UserId.optional().openapi({ description: "Whose goal; defaults to the caller (admins may set anyone's)" }),
  interestLevel: (level) => level.min(0).max(1).openapi({ description: "0-1 scale; omitted keeps the current value, null clears it" }),
  goalTarget: (target) => target.min(-1e12).max(1e12).openapi({ description: "Target score or ability; omitted keeps the current value" }),
})
  .pick({ userId: true, interestLevel: true, goalTarget: true })
  .strict()
  .openapi("SeedtestInterestGoalInput");

export const Goal = rowSchema(interestGoals).openapi("SeedtestInterestGoal");
export const GoalPage = pageOf(Goal, "SeedtestInterestGoalPage");

const tags = ["seedtest"];

const putGoal = defineRoute(
  {
    method: "put",
    path: "/interest-goals/{topicId}",
    tags,
    summary: "Create or update the interest goal of (user, topic)",
    request: { params: textParams("topicId"), body: jsonBody(GoalInput) },
    responses: { 200: json(Goal, "Updated"), 201: json(Goal, "Created") },
  },
  403,
);

const listGoals = defineRoute({
  method: "get",
  path: "/interest-goals",
  tags,
  summary: "A user's interest goals, most recently set first (the caller's by default)",
  request: { query: z.object({ userId: UserId.optional(), ...PageQuery }) },
  responses: { 200: json(GoalPage, "A page of goals") },
});

const newest = keyset([interestGoals.setAt, interestGoals.topicId], "desc");

export const interestGoalRoutes = createRouter()
  .openapi(putGoal, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const { topicId } = c.req.valid("param");
    const { userId = callerId(principal), ...values } = c.req.valid("json");
    // Only the fields the body names change on conflict; set_at stays when the goal was first set.
    const changed = {
      ...(values.interestLevel !== undefined && { interestLevel: sql`excluded.interest_level` }),
      ...(values.goalTarget !== undefined && { goalTarget: sql`excluded.goal_target` }),
    };
    const [rows] = await runAs(db, principal, [
      db
        .insert(interestGoals)
        .values({ userId, topicId, ...values })
        .onConflictDoUpdate({ target: [interestGoals.userId, interestGoals.topicId], set: { ...changed, updatedAt: sql`now()` } })
        // xmax is 0 only for a row this statement inserted: tells create from update in one statement.
        .returning({ ...columnsOf(interestGoals), inserted: sql<boolean>`(xmax = 0)` }),
    ] as const);
    const { inserted, ...goal } = rows[0]!;
    return c.json(goal, inserted ? 201 : 200);
  })
  .openapi(listGoals, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const q = c.req.valid("query");
    const [rows] = await runAs(db, principal, [
      db
        .select({ ...columnsOf(interestGoals), ...newest.columns })
        .from(interestGoals)
        .where(and(eq(interestGoals.userId, q.userId ?? callerId(principal)), newest.after(q.cursor)))
        .orderBy(...newest.orderBy)
        .limit(q.limit + 1),
    ] as const);
    return c.json(newest.page(rows, q.limit), 200);
  });
