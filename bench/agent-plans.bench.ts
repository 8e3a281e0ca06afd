import type { BenchContext } from "./harness";

const TODOS = 200;
const PLANS = 60;
const LOOP_TODOS = 400;
const EXECUTORS = 8;

/** A plan's todos: each depends on up to two earlier ones, so the DAG rules do real work. */
const planBody = (n: number) => ({
  intent: { goal: "bench" },
  todos: Array.from({ length: n }, (_, i) => ({
    key: `t${i}`,
    title: `todo ${i}`,
    layer: ["ml", "biz", "data"][i % 3],
    priority: i % 11,
    dependsOn: [i - 1, i - 7].filter((d) => d >= 0 && i % 5 !== 0).map((d) => `t${d}`),
  })),
});

/**
 * Plans (docs/agent.md, "Plans and versions", "Executing the DAG"): creating a plan of 200 todos
 * (the DAG check, then plan, todos and version 1 in one batch), and the claim → complete loop with
 * 8 concurrent executors on a 400-todo plan of independent todos (todos per second).
 */
export default async function (ctx: BenchContext) {
  const api = `${ctx.baseUrl}/api/v1/agent`;
  const post = async (path: string, token: string, body?: unknown) => {
    const res = await fetch(`${api}${path}`, { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: JSON.stringify(body ?? {}) });
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<any>;
  };
  const org = await post("/organizations", await ctx.token(crypto.randomUUID(), ["operator"]), { name: "bench", maxMonthlyTokens: 2_000_000_000 });
  const sub = crypto.randomUUID();
  const admin = await ctx.token(sub, ["admin"], { tenant_id: org.id, email: `${sub}@bench.test` });
  await post("/users/me", admin);
  const session = await post("/sessions", admin);

  const body = JSON.stringify(planBody(TODOS));
  await ctx.measure(`POST /agent/sessions/{id}/plans (${TODOS} todos)`, { total: PLANS, concurrency: 4 }, () =>
    new Request(`${api}/sessions/${session.id}/plans`, { method: "POST", headers: { Authorization: `Bearer ${admin}`, "Content-Type": "application/json" }, body }),
  );

  const { plan } = await post(`/sessions/${session.id}/plans`, admin, { todos: Array.from({ length: LOOP_TODOS }, (_, i) => ({ key: `l${i}`, title: `loop ${i}`, layer: "data" })) });
  await post(`/plans/${plan.id}/approve`, admin);
  await post(`/plans/${plan.id}/start`, admin);
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: EXECUTORS }, async () => {
      for (;;) {
        // The last completion ends the plan; claims on it are then 409.
        const res = await fetch(`${api}/plans/${plan.id}/claim`, { method: "POST", headers: { Authorization: `Bearer ${admin}`, "Content-Type": "application/json" }, body: '{"limit":1}' });
        if (res.status === 409) return;
        const { items } = (await res.json()) as { items: { id: string }[] };
        if (!items.length) return;
        await post(`/todos/${items[0]!.id}/complete`, admin, { tokensUsed: 10, executionTimeMs: 1 });
        done++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const settled = await (await fetch(`${api}/plans/${plan.id}`, { headers: { Authorization: `Bearer ${admin}` } })).json() as any;
  console.log(`claim → complete, ${EXECUTORS} executors: ${done} todos in ${seconds.toFixed(1)} s = ${(done / seconds).toFixed(1)} todos/s; plan ${settled.plan.status} (${settled.plan.completedTodos}/${settled.plan.totalTodos})`);
}
