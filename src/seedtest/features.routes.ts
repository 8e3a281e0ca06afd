import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, sql, type SQL } from "drizzle-orm";
import { runAs } from "../platform/db";
import { problemResponses } from "../platform/openapi";
import { createRouter } from "../platform/router";
import { featuresTopicDaily } from "./schema";
import { decodeCursor, paginate } from "../platform/paging";
import { callerId, checkRange, IsoDate, Metadata, page, PageQuery, TextId, UserId, FeaturesKey } from "./shared";

const FeaturesInput = z
  .object({ features: Metadata.openapi({ description: "Aggregated features, e.g. {accuracy, attempts, time_spent}", example: { accuracy: 0.75, attempts: 4, time_spent: 360 } }) })
  .strict()
  .openapi("SeedtestFeaturesInput");

const Features = z
  .object({
    userId: z.string(),
    topicId: z.string(),
    date: z.iso.date(),
    features: Metadata,
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi("SeedtestTopicDailyFeatures");

const columns = {
  userId: featuresTopicDaily.userId,
  topicId: featuresTopicDaily.topicId,
  date: featuresTopicDaily.date,
  features: featuresTopicDaily.features,
  createdAt: featuresTopicDaily.createdAt,
  updatedAt: featuresTopicDaily.updatedAt,
};

const tags = ["seedtest"];

const putFeatures = createRoute({
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
    body: { required: true, content: { "application/json": { schema: FeaturesInput } } },
  },
  responses: {
    200: { description: "Replaced", content: { "application/json": { schema: Features } } },
    201: { description: "Created", content: { "application/json": { schema: Features } } },
    ...problemResponses(401, 403, 413, 415, 422, 429),
  },
});

const listFeatures = createRoute({
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
  responses: {
    200: { description: "A page of daily features", content: { "application/json": { schema: page(Features, "SeedtestTopicDailyFeaturesPage") } } },
    ...problemResponses(401, 422, 429),
  },
});

export const featureRoutes = createRouter()
  .openapi(putFeatures, async (c) => {
    const { db } = c.var;
    const key = c.req.valid("param");
    const { features } = c.req.valid("json");
    // Row-level security admits admins and the analytics job only (42501 → 403 for others).
    const [rows] = await runAs(db, c.var.principal, [
      db
        .insert(featuresTopicDaily)
        .values({ ...key, features })
        .onConflictDoUpdate({
          target: [featuresTopicDaily.userId, featuresTopicDaily.topicId, featuresTopicDaily.date],
          set: { features: sql`excluded.features`, updatedAt: sql`now()` },
        })
        .returning({ ...columns, inserted: sql<boolean>`(xmax = 0)` }),
    ] as const);
    const { inserted, ...row } = rows[0]!;
    return c.json(row, inserted ? 201 : 200);
  })
  .openapi(listFeatures, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const q = c.req.valid("query");
    checkRange(q.from, q.to);
    const after = decodeCursor(q.cursor, FeaturesKey);
    const userId = q.userId ?? (q.topicId === undefined ? callerId(principal) : undefined);
    const t = featuresTopicDaily;
    // Served by ix_features_topic_daily_user_date or ix_features_topic_daily_topic_date.
    const filters: (SQL | undefined)[] = [
      userId !== undefined ? eq(t.userId, userId) : undefined,
      q.topicId !== undefined ? eq(t.topicId, q.topicId) : undefined,
      q.from !== undefined ? sql`${t.date} >= ${q.from}::date` : undefined,
      q.to !== undefined ? sql`${t.date} <= ${q.to}::date` : undefined,
      after ? sql`(${t.date}, ${t.topicId}, ${t.userId}) < (${after[0]}::date, ${after[1]}, ${after[2]})` : undefined,
    ];
    const [rows] = await runAs(db, principal, [
      db.select(columns).from(t).where(and(...filters)).orderBy(desc(t.date), desc(t.topicId), desc(t.userId)).limit(q.limit + 1),
    ] as const);
    return c.json(paginate(rows, q.limit, (r) => [r.date, r.topicId, r.userId]), 200);
  });
