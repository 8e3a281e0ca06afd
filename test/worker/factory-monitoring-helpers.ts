import { sql } from "drizzle-orm";
import { servicePrincipal } from "../../src/platform/auth";
import { runAs } from "../../src/platform/db";
import { testEnv } from "./helpers";
import { db } from "./factory-helpers";
import type { Delivery } from "../setup/webhook-receiver";

/** Test-side writes as a job would make them (role service): data the monitors and retention read. */
export const SERVICE = servicePrincipal(crypto.randomUUID());

export const service = (...statements: ReturnType<typeof sql>[]) => runAs(db, SERVICE, statements.map((s) => db.execute(s)) as never) as Promise<{ rows: Record<string, unknown>[] }[]>;

/** `n` judgments of the tenant, `ageSeconds` old, each with this latency and cache flag. */
export const judgments = (tenantId: string, n: number, o: { latencyMs: number; cacheHit: boolean; ageSeconds?: number }) => sql`
  insert into factory.judgment_executions (tenant_id, source, input_data, result, method_used, cache_hit, latency_ms, trace_id, created_at)
  select ${tenantId}::uuid, 'api', jsonb_build_object('n', g), 'normal', case when ${o.cacheHit} then 'cache' else 'rule_only' end,
         ${o.cacheHit}, ${o.latencyMs}, 'monitor-test', now() - make_interval(secs => ${o.ageSeconds ?? 60})
  from generate_series(1, ${n}) g`;

/** One LLM call of the tenant costing `usd`, made `ageSeconds` ago. */
export const llmCall = (tenantId: string, usd: number, ageSeconds = 60) => sql`
  insert into factory.llm_calls (tenant_id, call_type, model, prompt_tokens, completion_tokens, total_tokens, cost_estimate_usd, created_at)
  values (${tenantId}::uuid, 'judgment', 'gpt-4o', 1, 1, 2, ${usd}, now() - make_interval(secs => ${ageSeconds}))`;

/** A workflow of the tenant with one step: returns its id and the step's. */
export async function workflow(tenantId: string): Promise<{ workflowId: string; stepId: string }> {
  const workflowId = crypto.randomUUID();
  const stepId = crypto.randomUUID();
  await service(
    sql`insert into factory.workflows (id, tenant_id, name, dsl_json, dsl_digest) values (${workflowId}::uuid, ${tenantId}::uuid, ${`wf-${workflowId}`}, '{}', 'd')`,
    sql`insert into factory.workflow_steps (id, workflow_id, step_order, node_id, node_type, config) values (${stepId}::uuid, ${workflowId}::uuid, 1, 'n1', 'DATA', '{}')`,
  );
  return { workflowId, stepId };
}

/** `n` runs of the workflow that ended `ageSeconds` ago with `status`. */
export const runs = (tenantId: string, workflowId: string, n: number, status: string, ageSeconds = 60) => sql`
  insert into factory.workflow_instances (workflow_id, tenant_id, status, trigger_type, trace_id, started_at, ended_at)
  select ${workflowId}::uuid, ${tenantId}::uuid, ${status}, 'api', 'monitor-test', now() - make_interval(secs => ${ageSeconds + 5}), now() - make_interval(secs => ${ageSeconds})
  from generate_series(1, ${n})`;

/** The receiver's record of what reached `/hooks/<name>` (test/setup/webhook-receiver.ts), its body an alarm event. */
export type Delivered = Omit<Delivery, "body"> & { body: { type: string; timestamp: string; data: Record<string, unknown> } };

export async function delivered(hook: string): Promise<Delivered[]> {
  const res = await fetch(`${testEnv.TEST_WEBHOOK_URL}/__deliveries/${encodeURIComponent(hook)}`);
  return res.json();
}

/** Waits until the hook has received at least `n` deliveries (another file's minute cron may be the one that sends them). */
export async function deliveredAtLeast(hook: string, n: number): Promise<Delivered[]> {
  for (let attempt = 0; ; attempt++) {
    const got = await delivered(hook);
    if (got.length >= n || attempt === 40) return got;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A tenant's notification_config pointing at the test receiver's hook `name`, signed with the run's secret. */
export const webhookSettings = (name: string) => ({
  notification_config: { webhook_enabled: true, webhook_url: `${testEnv.TEST_WEBHOOK_URL}/hooks/${name}`, webhook_secret: testEnv.TEST_WEBHOOK_SECRET },
});
