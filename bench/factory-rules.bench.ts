import type { BenchContext } from "./harness";

const VERSIONS = 300;

/**
 * Factory rules (docs/factory-rules.md): storing a version of the §5.2 script (compiled, its
 * grid's test_coverage and own conflicts computed in the Worker, then one batch), evaluating a
 * version on the §4.1 input (the test route), and the conflicts list. Tenant, admin and ruleset
 * are seeded first.
 */
export default async function (ctx: BenchContext) {
  const tenantId = crypto.randomUUID();
  const adminId = crypto.randomUUID();
  await ctx.stack.sql.admin((db) =>
    db.query(
      `with t as (insert into factory.tenants (id, name, display_name) values ($1, $2, $2) returning id)
       insert into factory.users (id, tenant_id, email, username, password_hash, role) select $3, t.id, $4, 'bench-admin', '!', 'admin' from t`,
      [tenantId, `bench-${tenantId}`, adminId, `${adminId}@bench.test`],
    ),
  );
  const auth = { Authorization: `Bearer ${await ctx.token(adminId, [], { tenant_id: tenantId })}`, "Content-Type": "application/json" };
  const base = `${ctx.baseUrl}/api/v1/factory/rules`;
  const created = await fetch(`${base}/rulesets`, { method: "POST", headers: auth, body: JSON.stringify({ name: "bench", targetKpi: "defect_rate" }) });
  if (created.status !== 201) throw new Error(`ruleset: ${created.status} ${await created.text()}`);
  const { id } = (await created.json()) as { id: string };
  const script = (i: number) => `fn judge_defect_rate(metrics, context) {
  let defect_rate = metrics.defect_rate;
  let target = context.target_defect_rate ?? 0.05;
  if defect_rate > target * ${1.5 + i / 1000} {
    #{ result: "critical", confidence: 1.0, explanation: \`불량률 \${defect_rate}이 목표치 \${target}의 150% 초과\`, actions: ["alert_supervisor", "stop_line"] }
  } else if defect_rate > target * 1.2 {
    #{ result: "warning", confidence: 0.9, explanation: \`불량률 \${defect_rate}이 목표치 \${target}의 120% 초과\`, actions: ["notify_operator"] }
  } else {
    #{ result: "normal", confidence: 1.0, explanation: "불량률 정상 범위" }
  }
}`;
  await ctx.measure("POST /factory/rules/rulesets/{id}/scripts (compile, coverage, own conflicts)", { total: VERSIONS, concurrency: 8 }, (i) =>
    new Request(`${base}/rulesets/${id}/scripts`, { method: "POST", headers: auth, body: JSON.stringify({ script: script(i) }) }),
  );
  const input = {
    line_code: "L01",
    shift: "day",
    date: "2025-01-26",
    metrics: { defect_rate: 0.073, production_qty: 1500, cycle_time_avg: 45.2, oee: 0.78 },
    context: { previous_defect_rate: 0.045, target_defect_rate: 0.05, shift_supervisor: "김철수" },
  };
  await ctx.measure("POST /factory/rules/rulesets/{id}/scripts/{version}/test (evaluate §4.1 input)", { total: 1000, concurrency: 8 }, (i) =>
    new Request(`${base}/rulesets/${id}/scripts/${1 + (i % VERSIONS)}/test`, { method: "POST", headers: auth, body: JSON.stringify({ input }) }),
  );
  await ctx.measure("GET /factory/rules/conflicts", { total: 500, concurrency: 8 }, () => new Request(`${base}/conflicts?rulesetId=${id}`, { headers: auth }));
}
