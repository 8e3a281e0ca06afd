import { eq, sql } from "drizzle-orm";
import { runAs } from "../platform/db";
import { notFound } from "../platform/problem";
import { createRouter } from "../platform/router";
import { defineRoute, json, jsonBody } from "../platform/route";
import { IsoDate } from "../platform/schemas";
import { columnsOf, insertSchema, rowSchema } from "../platform/table-schema";
import { examCacheKeys } from "./cache-keys";
import { examProfiles } from "./schema";

const ProfileInput = insertSchema(examProfiles, {
  level: (s) => s.openapi({ description: "AICE level the learner prepares for" }),
  examDate: IsoDate.openapi({ example: "2027-03-14" }),
})
  .pick({ level: true, examDate: true, targetType: true })
  .strict()
  .openapi("ExamProfileInput");

export const Profile = rowSchema(examProfiles).openapi("ExamProfile");

/** As cached: timestamps are ISO strings once serialized, Dates when fresh from Postgres. */
type CachedProfile = Omit<typeof examProfiles.$inferSelect, "createdAt" | "updatedAt"> & { createdAt: Date | string; updatedAt: Date | string };

const getProfile = defineRoute(
  {
    method: "get",
    path: "/profile",
    tags: ["exam"],
    summary: "The caller's exam profile",
    responses: { 200: json(Profile, "The profile") },
  },
  404,
);

const putProfile = defineRoute({
  method: "put",
  path: "/profile",
  tags: ["exam"],
  summary: "Create or replace the caller's exam profile",
  request: { body: jsonBody(ProfileInput) },
  responses: { 200: json(Profile, "Updated"), 201: json(Profile, "Created") },
});

export const profileRoutes = createRouter()
  .openapi(getProfile, async (c) => {
    const { db, cache } = c.var;
    const principal = c.var.principal!;
    const profile = await cache.getOrLoad<CachedProfile | null>(examCacheKeys.profile(principal.userId), async () => {
      const [rows] = await runAs(db, principal, [db.select().from(examProfiles).where(eq(examProfiles.userId, principal.userId))] as const);
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
        .returning({ ...columnsOf(examProfiles), inserted: sql<boolean>`(xmax = 0)` }),
    ] as const);
    const { inserted, ...profile } = rows[0]!;
    await cache.invalidate(examCacheKeys.profile(principal.userId));
    return c.json(profile, inserted ? 201 : 200);
  });
