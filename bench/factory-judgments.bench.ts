import { DEMO_ADMIN_ID, DEMO_TENANT_ID, seedFactory } from "../scripts/lib/factory-seed";
import type { BenchContext } from "./harness";

const WARM_INPUTS = 50;

/**
 * POST /factory/judgments/execute (docs/factory-judgments.md) on the seeded demo tenant and its
 * §5.2 ruleset: rule_only judgments of inputs never seen (cache miss: the read batch, the rules,
 * the write batch, the cache entry), then cache hits of inputs judged before (one Redis pipeline,
 * one Postgres write). The demo tenant's daily quota is lifted so repeated runs are not refused.
 */
export default async function (ctx: BenchContext) {
  const { ruleset } = await ctx.stack.sql.admin(async (db) => {
    const seeded = await seedFactory(db);
    // Limits are the platform operator's to change (factory.tenants_guard_update).
    await db.exec(
      `begin; select set_config('app.roles', '["platform_operator"]', true);
       update factory.tenants set max_judgments_per_day = 1000000000 where id = '${DEMO_TENANT_ID}'; commit;`,
    );
    return seeded;
  });
  const token = await ctx.token(DEMO_ADMIN_ID, [], { tenant_id: DEMO_TENANT_ID });
  const run = crypto.randomUUID();
  const input = (i: number) => ({
    line_code: `L${String(i % 40).padStart(2, "0")}`,
    shift: "day",
    date: "2025-01-26",
    run,
    n: i,
    metrics: { defect_rate: 0.03 + (i % 60) / 1000, production_qty: 1500, cycle_time_avg: 45.2, oee: 0.78 },
    context: { previous_defect_rate: 0.045, target_defect_rate: 0.05 },
  });
  const judge = (body: unknown) =>
    new Request(`${ctx.baseUrl}/api/v1/factory/judgments/execute`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  await ctx.measure("POST /factory/judgments/execute rule_only (miss)", { total: 1000, concurrency: 8 }, (i) => judge({ inputData: input(i), rulesetId: ruleset }));
  // The hits' inputs were judged (and cached) by the run above.
  await ctx.measure("POST /factory/judgments/execute cache hit", { total: 2000, concurrency: 8 }, (i) => judge({ inputData: input(i % WARM_INPUTS), rulesetId: ruleset }));
}
