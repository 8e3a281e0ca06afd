import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, sql } from "drizzle-orm";
import { runAs } from "../platform/db";
import { problemResponses } from "../platform/openapi";
import { createRouter } from "../platform/router";
import { interestGoals } from "./schema";
import { decodeCursor, exactTime, paginate } from "../platform/paging";
import { callerId, page, PageQuery, TextId, UserId, TimeKey } from "./shared";

const GoalInput = z
  .object({
    userId: UserId.optional().openapi({ description: "Whose goal; defaults to the caller (admins may set anyone's)" }),
    interestLevel: z.number().min(0).max(1).nullable().optional().openapi({ description: "0-1 scale; omitted keeps the current value, null clears it" }),
    goalTarget: z.number().min(-1e12).max(1e12).nullable().optional().openapi({ description: "Target score or ability; omitted keeps the current value" }),
  })
  .strict()
  .openapi("SeedtestInterestGoalInput");

const Goal = z
  .object({
    userId: z.string(),
    topicId: z.string(),
    interestLevel: z.number().nullable(),
    goalTarget: z.number().nullable(),
    setAt: z.iso.datetime().openapi({ description: "When the goal was first set" }),
    updatedAt: z.iso.datetime(),
  })
  .openapi("SeedtestInterestGoal");

const columns = {
  userId: interestGoals.userId,
  topicId: interestGoals.topicId,
  interestLevel: interestGoals.interestLevel,
  goalTarget: interestGoals.goalTarget,
  setAt: interestGoals.setAt,
  updatedAt: interestGoals.updatedAt,
};

const tags = ["seedtest"];

const putGoal = createRoute({
  method: "put",
  path: "/interest-goals/{topicId}",
  tags,
  summary: "Create or update the interest goal of (user, topic)",
  request: {
    params: z.object({ topicId: TextId.openapi({ param: { name: "topicId", in: "path" } }) }),
    body: { required: true, content: { "application/json": { schema: GoalInput } } },
  },
  responses: {
    200: { description: "Updated", content: { "application/json": { schema: Goal } } },
    201: { description: "Created", content: { "application/json": { schema: Goal } } },
    ...problemResponses(401, 403, 413, 415, 422, 429),
  },
});

const listGoals = createRoute({
  method: "get",
  path: "/interest-goals",
  tags,
  summary: "A user's interest goals, most recently set first (the caller's by default)",
  request: { query: z.object({ userId: UserId.optional(), ...PageQuery }) },
  responses: {
    200: { description: "A page of goals", content: { "application/json": { schema: page(Goal, "SeedtestInterestGoalPage") } } },
    ...problemResponses(401, 422, 429),
  },
});

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
        .returning({ ...columns, inserted: sql<boolean>`(xmax = 0)` }),
    ] as const);
    const { inserted, ...goal } = rows[0]!;
    return c.json(goal, inserted ? 201 : 200);
  })
  .openapi(listGoals, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const q = c.req.valid("query");
    const after = decodeCursor(q.cursor, TimeKey);
    const [rows] = await runAs(db, principal, [
      db
        .select({ ...columns, key: exactTime(interestGoals.setAt) })
        .from(interestGoals)
        .where(
          and(
            eq(interestGoals.userId, q.userId ?? callerId(principal)),
            after ? sql`(${interestGoals.setAt}, ${interestGoals.topicId}) < (${after[0]}::timestamptz, ${after[1]})` : undefined,
          ),
        )
        .orderBy(desc(interestGoals.setAt), desc(interestGoals.topicId))
        .limit(q.limit + 1),
    ] as const);
    const { items, nextCursor } = paginate(rows, q.limit, (r) => [r.key, r.topicId]);
    return c.json({ items: items.map(({ key: _, ...g }) => g), nextCursor }, 200);
  });
