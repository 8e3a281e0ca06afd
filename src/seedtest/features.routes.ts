import { z } from "@hono/zod-openapi";
import { and, eq, sql, type SQL } from "drizzle-orm";
import { runAs } from "../platform/db";
import { keyset } from "../platform/paging";
import { JsonObject } from "../platform/input";
import { defineRoute, json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { IsoDate, PageQuery, TextId, checkRange, pageOf } from "../platform/schemas";
import { columnsOf, insertSchema, rowSchema } from "../platform/table-schema";
import { featuresTopicDaily } from "./schema";
import { callerId, UserId } from "./shared";

const FeaturesInput = insertSchema(featuresTopicDaily, {
  features: JsonObject.openapi({ description: "Aggregated features, e.g. {accuracy, attempts, time_spent}", example: { accuracy: 0.75, attempts: 4, time_spent: 360 } }),
})
  .pick({ features: true })
  .strict()
  .openapi("SeedtestFeaturesInput");

export const Features = rowSchema(featuresTopicDaily, { features: JsonObject }).openapi("SeedtestTopicDailyFeatures");
export const FeaturesPage = pageOf(Features, "SeedtestTopicDailyFeaturesPage");

const tags = ["seedtest"];

const putFeatures = defineRoute(
  {
    method: "put",
    path: "/features/{userId}/{topicId}/{date}",
    tags,
    summary: "Create or replace the features of (user, topic, date) (admins and the analytics job)",
    request: {
      params: z.object({
        userId: UserId.openapi({ param: { name: "userId", in: "path" } }),
        topicId: TextId.openapi({ param: { name: "topicId", in: "path" } }),
        date: IsoDate.openapi({ param: { name: "date", in: "path" }, example: "2026-11-20" }),
      }),
      body: jsonBody(FeaturesInput),
    },
    responses: { 200: json(Features, "Replaced"), 201: json(Features, "Created") },
  },
  403,
);

const listFeatures = defineRoute({
  method: "get",
  path: "/features",
  tags,
  summary: "Daily topic features by user and/or topic over a date range, newest first (the caller's when neither is given)",
  request: {
    query: z.object({
      userId: UserId.optional(),
      topicId: TextId.optional(),
      from: IsoDate.optional().openapi({ description: "date ≥ from" }),
      to: IsoDate.optional().openapi({ description: "date ≤ to" }),
      ...PageQuery,
    }),
  },
  responses: { 200: json(FeaturesPage, "A page of daily features") },
});

const t = featuresTopicDaily;
const newest = keyset([t.date, t.topicId, t.userId], "desc");

export const featureRoutes = createRouter()
  .openapi(putFeatures, async (c) => {
    const { db } = c.var;
    const key = c.req.valid("param");
    const { features } = c.req.valid("json");
    // Row-level security admits admins and the analytics job only (42501 → 403 for others).
    const [rows] = await runAs(db, c.var.principal, [
      db
        .insert(t)
        .values({ ...key, features })
        .onConflictDoUpdate({ target: [t.userId, t.topicId, t.date], set: { features: sql`excluded.features`, updatedAt: sql`now()` } })
        .returning({ ...columnsOf(t), inserted: sql<boolean>`(xmax = 0)` }),
    ] as const);
    const { inserted, ...row } = rows[0]!;
    return c.json(row, inserted ? 201 : 200);
  })
  .openapi(listFeatures, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const q = c.req.valid("query");
    checkRange(q.from, q.to);
    const userId = q.userId ?? (q.topicId === undefined ? callerId(principal) : undefined);
    // Served by ix_features_topic_daily_user_date or ix_features_topic_daily_topic_date.
    const filters: (SQL | undefined)[] = [
      userId !== undefined ? eq(t.userId, userId) : undefined,
      q.topicId !== undefined ? eq(t.topicId, q.topicId) : undefined,
      q.from !== undefined ? sql`${t.date} >= ${q.from}::date` : undefined,
      q.to !== undefined ? sql`${t.date} <= ${q.to}::date` : undefined,
      newest.after(q.cursor),
    ];
    const [rows] = await runAs(db, principal, [
      db
        .select({ ...columnsOf(t), ...newest.columns })
        .from(t)
        .where(and(...filters))
        .orderBy(...newest.orderBy)
        .limit(q.limit + 1),
    ] as const);
    return c.json(newest.page(rows, q.limit), 200);
  });
