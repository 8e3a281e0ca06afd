import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { DEMO_ADMIN_ID, DEMO_TENANT_ID, seedFactory } from "../scripts/lib/factory-seed";
import type { BenchContext } from "./harness";

const INSTANCES = 30;
const CONCURRENCY = 3;
const NODES = 5;
const POLL_MS = 20;
/** An instance not COMPLETED by then fails the bench rather than hanging it. */
const INSTANCE_DEADLINE_MS = 60_000;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/**
 * A 5-node workflow (docs/factory-workflows.md, "Execution") from POST /workflows/{id}/execute to
 * COMPLETED on wrangler dev's local Workflows engine: BI → SWITCH → ACTION (a signed call to a
 * receiver in this process) → WAIT (1 s, the shortest the DSL allows) → BI. Wall time is
 * the execute request's start to the first poll that reads COMPLETED (polls every 20 ms); round
 * trips are the instance's own (request id `wf-<instance id>`: begin, then one batch per node) and
 * the execute route's.
 */
export default async function (ctx: BenchContext) {
  await ctx.stack.sql.admin(async (db) => {
    await seedFactory(db);
  });
  const receiver = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  try {
    const token = await ctx.token(DEMO_ADMIN_ID, [], { tenant_id: DEMO_TENANT_ID });
    const api = async (method: string, path: string, body?: unknown, requestId?: string) => {
      const res = await fetch(`${ctx.baseUrl}/api/v1/factory${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...(requestId ? { "X-Request-Id": requestId } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await res.json()) as any;
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    const name = `bench_${crypto.randomUUID().slice(0, 8)}`;
    const dsl = {
      name,
      variables: { input: { rows: { type: "array", required: true } } },
      nodes: [
        { id: "stats", type: "BI", config: { source: "$.input.rows", aggregates: [{ name: "n", op: "count" }, { name: "bad", op: "rate", where: { ok: false } }] } },
        { id: "route", type: "SWITCH", config: { cases: [{ when: "nodes.stats.result.bad > 0.5", next: "notify" }], default: "notify" } },
        { id: "notify", type: "ACTION", config: { url: receiverUrl, body: { stats: "$.nodes.stats.result" } } },
        { id: "settle", type: "WAIT", config: { seconds: 1 } },
        { id: "summary", type: "BI", config: { source: "$.input.rows", aggregates: [{ name: "total", op: "sum", field: "qty" }] } },
      ],
    };
    const workflow = await api("POST", "/workflows", { name, dsl });
    const rows = Array.from({ length: 20 }, (_, i) => ({ qty: i, ok: i % 3 !== 0 }));

    const walls: number[] = [];
    const runs: { instanceId: string; executeId: string }[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < INSTANCES) {
          next++;
          const executeId = `bench-wf-execute-${crypto.randomUUID()}`;
          const t0 = performance.now();
          const started = await api("POST", `/workflows/${workflow.id}/execute`, { input: { rows } }, executeId);
          for (;;) {
            if (performance.now() - t0 > INSTANCE_DEADLINE_MS) throw new Error(`instance ${started.id} not COMPLETED within ${INSTANCE_DEADLINE_MS} ms`);
            const state = await api("GET", `/workflows/instances/${started.id}`);
            if (state.status === "COMPLETED") break;
            if (["FAILED", "CANCELLED", "TIMEOUT"].includes(state.status)) throw new Error(`instance ${started.id} ended ${state.status}: ${state.lastError}`);
            await new Promise((r) => setTimeout(r, POLL_MS));
          }
          walls.push(performance.now() - t0);
          runs.push({ instanceId: started.id, executeId });
        }
      }),
    );
    const trips = async (id: string) => (await (await fetch(`${ctx.stack.url}/__roundtrips/${id}`)).json()) as { neon: number; upstash: number };
    const engine = await Promise.all(runs.map((r) => trips(`wf-${r.instanceId}`)));
    const execute = await Promise.all(runs.map((r) => trips(r.executeId)));
    walls.sort((a, b) => a - b);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const enginePg = mean(engine.map((t) => t.neon));
    console.log(
      `5-node workflow (BI → SWITCH → ACTION → WAIT 1 s → BI), execute to COMPLETED, ${INSTANCES} instances ${CONCURRENCY} at a time: ` +
        `p50 ${percentile(walls, 50).toFixed(0)} ms  p99 ${percentile(walls, 99).toFixed(0)} ms  | ` +
        `postgres: execute ${mean(execute.map((t) => t.neon)).toFixed(2)}/request, instance ${enginePg.toFixed(2)} (begin + nodes) = ${(enginePg / NODES).toFixed(2)} per step; ` +
        `redis: instance ${mean(engine.map((t) => t.upstash)).toFixed(2)}`,
    );
  } finally {
    await new Promise((resolve) => receiver.close(resolve));
  }
}
