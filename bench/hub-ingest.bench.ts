import pg from "pg";
import type { BenchContext } from "./harness";

const TOTAL_EVENTS = 100_000;
const BATCH = 1000;
const CONCURRENCY = 4;
const BATCHES = TOTAL_EVENTS / BATCH;
const HISTORY_DAYS = 60;

/** The batches both paths insert: 100 × 1000 events spread over the last 60 days (so some months get their partition on demand). */
function batches(): Record<string, unknown>[][] {
  const now = Date.now();
  const span = HISTORY_DAYS * 86_400_000;
  return Array.from({ length: BATCHES }, (_, b) =>
    Array.from({ length: BATCH }, (_, i) => {
      const n = b * BATCH + i;
      return {
        eventId: crypto.randomUUID(),
        eventType: ["study", "test", "review", "assessment"][n % 4],
        sourceNode: (n % 6) + 1,
        sourceId: `LAB_SESSION_${n % 97}`,
        content: { action: "solved_problem", concept: `concept_${n % 13}`, result: n % 3 ? "correct" : "incorrect", time_spent: 30 + (n % 300) },
        occurredAt: new Date(now - Math.floor((n / TOTAL_EVENTS) * span) - 1000).toISOString(),
      };
    }),
  );
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/**
 * Hub ingest through the API (POST /students/{id}/events, 1000 events per request) beside a raw
 * `pg` multi-row INSERT of the same batches on the same server (as the migrating role, no RLS, no
 * HTTP), then the newest-first history query of the student that now has 100k events.
 */
export default async function (ctx: BenchContext) {
  const bearer = await ctx.token(crypto.randomUUID(), ["admin"]);
  const headers = { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json" };
  const newStudent = async (name: string) => {
    const res = await fetch(`${ctx.baseUrl}/api/v1/hub/students`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name, schoolId: "BENCH", grade: 10, studentNumber: crypto.randomUUID().slice(0, 8) }),
    });
    if (res.status !== 201) throw new Error(`student not created: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  };

  const apiStudent = await newStudent("Bench API");
  const apiBatches = batches();
  const bodies = apiBatches.map((events) => JSON.stringify({ events }));
  const api = await ctx.measure(`POST /hub/…/events (${BATCH}/batch)`, { total: BATCHES, concurrency: CONCURRENCY }, (i) =>
    new Request(`${ctx.baseUrl}/api/v1/hub/students/${apiStudent}/events`, { method: "POST", headers, body: bodies[i] }),
  );
  console.log(`  api ingest: ${(api.rps * BATCH).toFixed(0)} events/s, ${api.neonPerRequest.toFixed(2)} Postgres round trips per batch`);

  if (ctx.stack.backends.sql === "postgres") {
    const url = new URL(ctx.stack.appDatabaseUrl);
    url.username = "postgres";
    const pool = new pg.Pool({ connectionString: url.toString(), max: CONCURRENCY });
    const rawStudent = await newStudent("Bench raw pg");
    const rawBatches = batches();
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < rawBatches.length) {
          const events = rawBatches[next++]!;
          const params: unknown[] = [];
          const rows = events.map((e) => {
            params.push(rawStudent, e.eventId, e.eventType, e.sourceNode, e.sourceId, JSON.stringify(e.content), e.occurredAt);
            const p = params.length - 6;
            return `($${p}, $${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, ($${p + 6}::timestamptz at time zone 'utc'))`;
          });
          const t0 = performance.now();
          await pool.query(
            `insert into hub.learning_history (student_id, event_id, event_type, source_node, source_id, content, occurred_at)
             values ${rows.join(", ")} on conflict (event_id, occurred_at) do nothing`,
            params,
          );
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    await pool.end();
    latencies.sort((a, b) => a - b);
    console.log(
      `${"raw pg multi-row INSERT (1000/batch)".padEnd(40)} p50 ${percentile(latencies, 50).toFixed(1)} ms  p99 ${percentile(latencies, 99).toFixed(1)} ms  ` +
        `${(BATCHES / seconds).toFixed(1)} batches/s = ${(TOTAL_EVENTS / seconds).toFixed(0)} events/s  postgres 1.00/batch`,
    );
  } else {
    console.log("  raw pg baseline skipped: the local stack runs on embedded PGlite, not a Postgres server");
  }

  const history = `${ctx.baseUrl}/api/v1/hub/students/${apiStudent}/events`;
  // One at a time (latency of a lone request), then 8 at a time (throughput on this machine).
  await ctx.measure("GET /hub/…/events (100k events), 1 at a time", { total: 200, concurrency: 1 }, () => new Request(`${history}?limit=50`, { headers }));
  await ctx.measure("GET /hub/…/events (100k events), 8 at a time", { total: 500, concurrency: 8 }, () => new Request(`${history}?limit=50`, { headers }));
  await ctx.measure("GET …/events?eventType=test", { total: 500, concurrency: 8 }, () => new Request(`${history}?eventType=test&limit=50`, { headers }));
  const from = encodeURIComponent(new Date(Date.now() - 40 * 86_400_000).toISOString());
  const to = encodeURIComponent(new Date(Date.now() - 30 * 86_400_000).toISOString());
  await ctx.measure("GET …/events?from&to (10 days back)", { total: 500, concurrency: 8 }, () => new Request(`${history}?from=${from}&to=${to}&limit=50`, { headers }));
}
