import { createRoute, z } from "@hono/zod-openapi";
import { eq, sql } from "drizzle-orm";
import { runAs } from "../platform/db";
import { notFound } from "../platform/problem";
import { createRouter } from "../platform/router";
import { problemResponses } from "../platform/openapi";
import { examCacheKeys } from "./cache-keys";
import { examProfiles, LEVELS, TARGET_TYPES } from "./schema";

const IsoDate = z.iso.date().refine((d) => d >= "2000-01-01" && d <= "2100-12-31", "must be between 2000-01-01 and 2100-12-31");

const ProfileInput = z
  .object({
    level: z.enum(LEVELS).openapi({ description: "AICE level the learner prepares for" }),
    examDate: IsoDate.openapi({ example: "2027-03-14" }),
    targetType: z.enum(TARGET_TYPES),
  })
  .strict()
  .openapi("ExamProfileInput");

const Profile = ProfileInput.extend({
  id: z.uuid(),
  userId: z.uuid(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
}).openapi("ExamProfile");

/** As cached: timestamps are ISO strings once serialized, Dates when fresh from Postgres. */
type Profile = Omit<z.infer<typeof Profile>, "createdAt" | "updatedAt"> & { createdAt: Date | string; updatedAt: Date | string };

const getProfile = createRoute({
  method: "get",
  path: "/profile",
  tags: ["exam"],
  summary: "The caller's exam profile",
  responses: {
    200: { description: "The profile", content: { "application/json": { schema: Profile } } },
    ...problemResponses(401, 404, 429),
  },
});

const putProfile = createRoute({
  method: "put",
  path: "/profile",
  tags: ["exam"],
  summary: "Create or replace the caller's exam profile",
  request: { body: { required: true, content: { "application/json": { schema: ProfileInput } } } },
  responses: {
    200: { description: "Updated", content: { "application/json": { schema: Profile } } },
    201: { description: "Created", content: { "application/json": { schema: Profile } } },
    ...problemResponses(401, 413, 415, 422, 429),
  },
});

const columns = {
  id: examProfiles.id,
  userId: examProfiles.userId,
  level: examProfiles.level,
  examDate: examProfiles.examDate,
  targetType: examProfiles.targetType,
  createdAt: examProfiles.createdAt,
  updatedAt: examProfiles.updatedAt,
};

export const profileRoutes = createRouter()
  .openapi(getProfile, async (c) => {
    const { db, cache } = c.var;
    const principal = c.var.principal!;
    const profile = await cache.getOrLoad<Profile | null>(examCacheKeys.profile(principal.userId), async () => {
      const [rows] = await runAs(db, principal, [
        db.select(columns).from(examProfiles).where(eq(examProfiles.userId, principal.userId)),
      ] as const);
      return rows[0] ?? null;
    });
    if (!profile) throw notFound("an exam profile for this user");
    return c.json(profile, 200);
  })
  .openapi(putProfile, async (c) => {
    const { db, cache } = c.var;
    const principal = c.var.principal!;
    const input = c.req.valid("json");
    const [rows] = await runAs(db, principal, [
      db
        .insert(examProfiles)
        .values({ id: sql`gen_random_uuid()`, userId: principal.userId, ...input })
        .onConflictDoUpdate({
          target: examProfiles.userId,
          set: { ...input, updatedAt: sql`now()` },
        })
        // xmax is 0 only for a row this statement inserted: tells create from update in one statement.
        .returning({ ...columns, inserted: sql<boolean>`(xmax = 0)` }),
    ] as const);
    const { inserted, ...profile } = rows[0]!;
    await cache.invalidate(examCacheKeys.profile(principal.userId));
    return c.json(profile, inserted ? 201 : 200);
  });
