import { PgDialect } from "drizzle-orm/pg-core";
import { callerReadingsQuery } from "../src/factory/monitor-sql";
import { DEMO_ADMIN_ID, DEMO_TENANT_ID, seedFactory } from "../scripts/lib/factory-seed";
import type { BenchContext } from "./harness";

const JUDGMENTS = 1_000_000;
const DAYS = 30;
const LLM_CALLS = 50_000;

/**
 * GET /factory/monitoring (docs/factory-monitoring.md) on the demo tenant holding a million
 * judgments spread evenly over 30 days (about 1,400 in the monitors' last hour) and 50,000 LLM
 * calls over the last day, seeded with generate_series and vacuumed as autovacuum would leave
 * them. Prints the plan of the monitors' statement (the indexes it uses), then measures the route.
 */
export default async function (ctx: BenchContext) {
  const started = Date.now();
  await ctx.stack.sql.admin(async (db) => {
    await seedFactory(db);
    const { rows } = await db.query<{ n: string }>(`select count(*) as n from factory.judgment_executions where tenant_id = $1`, [DEMO_TENANT_ID]);
    if (Number(rows[0]?.n ?? 0) < JUDGMENTS) {
      await db.exec(`
        insert into factory.judgment_executions (tenant_id, source, input_data, result, method_used, cache_hit, latency_ms, trace_id, created_at)
        select '${DEMO_TENANT_ID}', 'api', '{}', (array['normal','warning','critical'])[1 + g % 3], case when g % 3 = 0 then 'cache' else 'rule_only' end,
               g % 3 = 0, 20 + (g::bigint * 7919) % 2500, 'bench', now() - make_interval(secs => (g::float8 / ${JUDGMENTS}) * ${DAYS} * 86400)
        from generate_series(1, ${JUDGMENTS}) g;
        insert into factory.llm_calls (tenant_id, call_type, model, prompt_tokens, completion_tokens, total_tokens, cost_estimate_usd, created_at)
        select '${DEMO_TENANT_ID}', 'judgment', 'gpt-4o', 850, 320, 1170, 0.0234, now() - make_interval(secs => (g::float8 / ${LLM_CALLS}) * 86400)
        from generate_series(1, ${LLM_CALLS}) g;`);
    }
    // One statement per call: VACUUM refuses to run in the implicit transaction of a multi-statement string.
    await db.exec("vacuum (analyze) factory.judgment_executions");
    await db.exec("vacuum (analyze) factory.llm_calls");
  });
  console.log(`seeded ${JUDGMENTS.toLocaleString("en")} judgments and ${LLM_CALLS.toLocaleString("en")} LLM calls in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // The route's own statement, as the demo admin under row-level security (role app_api).
  const query = new PgDialect().sqlToQuery(callerReadingsQuery());
  const plan = await ctx.stack.sql.admin(async (db) => {
    await db.exec("begin");
    try {
      await db.query(`select set_config('app.tenant_id', $1, true), set_config('app.user_id', $2, true), set_config('app.roles', '[]', true)`, [DEMO_TENANT_ID, DEMO_ADMIN_ID]);
      await db.exec("set local role app_api");
      return (await db.query<{ "QUERY PLAN": string }>(`explain (analyze, buffers, costs off) ${query.sql}`, query.params)).rows.map((r) => r["QUERY PLAN"]);
    } finally {
      await db.exec("rollback");
    }
  });
  const scans = plan.filter((line) => / on (judgment_executions|llm_calls|workflow_instances|rule_conflicts|mcp_servers|monitor_alarms|tenants)\b/.test(line));
  console.log(["plan of the monitors' statement (scans):", ...scans.map((l) => `  ${l.trim()}`), `  ${plan.at(-1)?.trim()}`].join("\n"));

  const token = await ctx.token(DEMO_ADMIN_ID, [], { tenant_id: DEMO_TENANT_ID });
  const get = (path: string) => () => new Request(`${ctx.baseUrl}/api/v1/factory/${path}`, { headers: { Authorization: `Bearer ${token}` } });
  await ctx.measure("GET /factory/monitoring (1M judgments)", { total: 400, concurrency: 4 }, get("monitoring"));
  await ctx.measure("GET /factory/metrics (1M judgments)", { total: 200, concurrency: 4 }, get("metrics"));
}
