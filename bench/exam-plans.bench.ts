import type { BenchContext } from "./harness";

/** GET /api/v1/exam/plans/{id}/tasks: a week of a plan's tasks (the (plan_id, task_date) index). */
export default async function (ctx: BenchContext) {
  const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
  const learners = await Promise.all(
    Array.from({ length: 20 }, async () => {
      const token = await ctx.token(crypto.randomUUID());
      const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
      const profile = JSON.stringify({ level: "ASSOCIATE", examDate: day(60), targetType: "HIGH_SCORE" });
      await fetch(`${ctx.baseUrl}/api/v1/exam/profile`, { method: "PUT", headers, body: profile });
      const res = await fetch(`${ctx.baseUrl}/api/v1/exam/plans`, { method: "POST", headers, body: "{}" });
      if (res.status !== 201) throw new Error(`plan setup failed: ${res.status} ${await res.text()}`);
      const plan = (await res.json()) as { id: string };
      return { token, planId: plan.id };
    }),
  );
  await ctx.measure("GET /exam/plans/{id}/tasks (7 days)", { total: 1000, concurrency: 8 }, (i) => {
    const { token, planId } = learners[i % learners.length]!;
    return new Request(`${ctx.baseUrl}/api/v1/exam/plans/${planId}/tasks?from=${day(7)}&to=${day(13)}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
  });
}
