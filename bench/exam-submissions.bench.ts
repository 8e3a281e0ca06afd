import type { BenchContext } from "./harness";

/** POST /api/v1/exam/sessions/{id}/steps/{n}/submissions: lock, numbered insert and outbox event in one batch. */
export default async function (ctx: BenchContext) {
  const body = JSON.stringify({ result: "PARTIAL", score: 60, errorCodes: ["E_SHAPE"], runtimeMs: 850 });
  const sessions = await Promise.all(
    Array.from({ length: 20 }, async () => {
      const token = await ctx.token(crypto.randomUUID());
      const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
      const created = await fetch(`${ctx.baseUrl}/api/v1/exam/sessions`, {
        method: "POST",
        headers,
        body: JSON.stringify({ labId: crypto.randomUUID(), policyId: crypto.randomUUID(), level: "ASSOCIATE", engineType: "JUPYTER", mode: "PRACTICE" }),
      });
      const { id } = (await created.json()) as { id: string };
      const started = await fetch(`${ctx.baseUrl}/api/v1/exam/sessions/${id}/start`, { method: "POST", headers });
      if (started.status !== 200) throw new Error(`session setup failed: ${started.status} ${await started.text()}`);
      return { token, id };
    }),
  );
  // 8 concurrent writers over 20 sessions: some land on the same session and queue on its row lock.
  await ctx.measure("POST /exam/sessions/{id}/steps/{n}/submissions", { total: 1000, concurrency: 8 }, (i) => {
    const { token, id } = sessions[i % sessions.length]!;
    return new Request(`${ctx.baseUrl}/api/v1/exam/sessions/${id}/steps/${(i % 5) + 1}/submissions`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body,
    });
  });
}
