import type { BenchContext } from "./harness";

/** GET /api/v1/exam/profile: served from Redis after the first read (no Postgres round trip). */
export default async function (ctx: BenchContext) {
  const users = Array.from({ length: 50 }, () => crypto.randomUUID());
  const tokens = await Promise.all(users.map((u) => ctx.token(u)));
  const body = JSON.stringify({ level: "ASSOCIATE", examDate: "2027-03-14", targetType: "HIGH_SCORE" });
  await ctx.measure("PUT /exam/profile", { total: 200, concurrency: 8 }, (i) =>
    new Request(`${ctx.baseUrl}/api/v1/exam/profile`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${tokens[i % tokens.length]}`, "Content-Type": "application/json" },
      body,
    }),
  );
  await ctx.measure("GET /exam/profile", { total: 2000, concurrency: 8 }, (i) =>
    new Request(`${ctx.baseUrl}/api/v1/exam/profile`, { headers: { Authorization: `Bearer ${tokens[i % tokens.length]}` } }),
  );
}
