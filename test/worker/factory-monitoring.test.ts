import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { evaluateAlarms } from "../../src/factory/monitor-alarms";
import { MONITOR_NAMES } from "../../src/factory/monitors";
import { standardWebhookHeaders } from "../../src/platform/standard-webhooks";
import { call, expectProblem, roundTrips, testEnv } from "./helpers";
import { seedTenant, seedUser } from "./factory-helpers";
import { delivered, deliveredAtLeast, judgments, llmCall, runs, service, webhookSettings, workflow } from "./factory-monitoring-helpers";

const BASE = "/api/v1/factory";

type Monitor = { monitor: string; value: number | null; threshold: number; state: string; window: string; windowStart: string | null; samples: number; alarmSince: string | null };
const byName = (body: { monitors: Monitor[] }) => Object.fromEntries(body.monitors.map((m) => [m.monitor, m]));

async function monitoring(bearer: string) {
  const res = await call("GET", `${BASE}/monitoring`, { token: bearer });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { ...res, monitors: byName(res.body) };
}

/** The tenant's alarm events as the job recorded them. */
async function events(tenantId: string) {
  const [result] = await service(sql`select id, monitor, transition, delivery_status, attempts, last_error from factory.monitor_alarm_events where tenant_id = ${tenantId}::uuid order by occurred_at, monitor`);
  return result!.rows as { id: string; monitor: string; transition: string; delivery_status: string; attempts: number; last_error: string | null }[];
}

describe("GET /monitoring", () => {
  it("answers the six monitors with value, threshold, state and window in one round trip; monitoring:read only", async () => {
    const { tenantId, admin } = await seedTenant();
    const res = await monitoring(admin.bearer);
    expect(res.body.tenantId).toBe(tenantId);
    expect(res.body.monitors.map((m: Monitor) => m.monitor)).toEqual(MONITOR_NAMES);
    expect(res.monitors).toMatchObject({
      judgment_latency_p95_ms: { value: null, threshold: 3000, state: "no_data", window: "PT1H", samples: 0, alarmSince: null },
      llm_cost_usd_today: { value: 0, threshold: 100, state: "ok", window: "utc_day", samples: 0 },
      workflow_failure_rate: { value: null, threshold: 0.05, state: "no_data", window: "PT1H" },
      critical_conflicts_unresolved: { value: 0, threshold: 0, state: "ok", window: "current", windowStart: null },
      mcp_circuits_open: { value: 0, threshold: 0, state: "ok", window: "current" },
      cache_hit_rate: { value: null, threshold: 0.3, state: "no_data", window: "PT1H" },
    });
    // The UTC day starts at midnight; the hour windows an hour before the answer.
    expect(res.monitors.llm_cost_usd_today!.windowStart).toBe(`${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`);
    expect(Date.now() - Date.parse(res.monitors.judgment_latency_p95_ms!.windowStart!)).toBeGreaterThan(3_590_000);
    expect(await roundTrips(res.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });

    for (const role of ["viewer", "operator", "approver"] as const) {
      const user = await seedUser(tenantId, role);
      const refused = await call("GET", `${BASE}/monitoring`, { token: user.bearer });
      expectProblem(refused, 403, "permission_missing");
      expect(refused.body.permission).toBe("monitoring:read");
    }
    const granted = await seedUser(tenantId, "viewer", { permissions: ["monitoring:read"] });
    expect((await call("GET", `${BASE}/monitoring`, { token: granted.bearer })).status).toBe(200);
    expectProblem(await call("GET", `${BASE}/monitoring`), 401, "unauthenticated");
  });

  it("measures each monitor from the tenant's rows only, with the tenant's own thresholds", async () => {
    const { tenantId, admin } = await seedTenant();
    const other = await seedTenant();
    const { workflowId } = await workflow(tenantId);
    await service(
      // Last hour: 19 fast misses, 1 slow (p95 interpolates between the 19th and 20th of 20), 5 hits.
      judgments(tenantId, 19, { latencyMs: 100, cacheHit: false }),
      judgments(tenantId, 1, { latencyMs: 10_100, cacheHit: false }),
      judgments(tenantId, 5, { latencyMs: 100, cacheHit: true }),
      // Older than the hour: not counted.
      judgments(tenantId, 50, { latencyMs: 90_000, cacheHit: false, ageSeconds: 3700 }),
      llmCall(tenantId, 40.5),
      llmCall(tenantId, 9.5),
      runs(tenantId, workflowId, 9, "COMPLETED"),
      runs(tenantId, workflowId, 1, "TIMEOUT"),
      runs(tenantId, workflowId, 3, "CANCELLED"),
      runs(tenantId, workflowId, 4, "FAILED", 4000),
      // Another tenant's rows never count.
      judgments(other.tenantId, 30, { latencyMs: 50_000, cacheHit: false }),
      llmCall(other.tenantId, 500),
    );
    const { monitors } = await monitoring(admin.bearer);
    // p95 of 24 × 100 ms and 1 × 10 100 ms: rank 0.95 × 24 = 22.8 lies among the 100s.
    expect(monitors.judgment_latency_p95_ms).toMatchObject({ value: 100, samples: 25, state: "ok" });
    expect(monitors.cache_hit_rate).toMatchObject({ value: 0.2, samples: 25, state: "alarm" });
    expect(monitors.llm_cost_usd_today).toMatchObject({ value: 50, samples: 2, state: "ok" });
    expect(monitors.workflow_failure_rate).toMatchObject({ value: 0.1, samples: 10, state: "alarm" });

    // The tenant's own thresholds (PATCH /tenant validates them).
    const bad = await call("PATCH", `${BASE}/tenant`, { token: admin.bearer, body: { settings: { monitoring_thresholds: { cache_hit_rate: 2 } } } });
    expectProblem(bad, 422, "validation_failed");
    expect(JSON.stringify(bad.body)).toContain("monitoring_thresholds");
    for (const notification_config of [{ webhook_url: "not a url" }, { webhook_url: "http://hooks.example.com/x" }, { webhook_secret: "plain" }]) {
      const refused = await call("PATCH", `${BASE}/tenant`, { token: admin.bearer, body: { settings: { notification_config } } });
      expectProblem(refused, 422, "validation_failed");
      expect(JSON.stringify(refused.body)).toContain("notification_config");
    }
    const set = await call("PATCH", `${BASE}/tenant`, {
      token: admin.bearer,
      body: { settings: { monitoring_thresholds: { llm_cost_usd_today: 25, judgment_latency_p95_ms: 50, workflow_failure_rate: 0.2, cache_hit_rate: 0.1 } } },
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const mine = (await monitoring(admin.bearer)).monitors;
    expect(mine.llm_cost_usd_today).toMatchObject({ value: 50, threshold: 25, state: "alarm" });
    expect(mine.judgment_latency_p95_ms).toMatchObject({ value: 100, threshold: 50, state: "alarm" });
    expect(mine.workflow_failure_rate).toMatchObject({ threshold: 0.2, state: "ok" });
    expect(mine.cache_hit_rate).toMatchObject({ threshold: 0.1, state: "ok" });
  });
});

describe("alarms", () => {
  it("raise and clear each of the six monitors by data, once per transition when runs overlap, each notified as a signed Standard Webhook", async () => {
    const hook = crypto.randomUUID();
    const { tenantId, admin } = await seedTenant({ settings: webhookSettings(hook) });
    const { workflowId } = await workflow(tenantId);
    const rulesetId = crypto.randomUUID();
    const serverId = crypto.randomUUID();
    await service(
      judgments(tenantId, 30, { latencyMs: 4000, cacheHit: false }),
      llmCall(tenantId, 150),
      runs(tenantId, workflowId, 18, "COMPLETED"),
      runs(tenantId, workflowId, 2, "FAILED"),
      sql`insert into factory.rulesets (id, tenant_id, name, target_kpi) values (${rulesetId}::uuid, ${tenantId}::uuid, 'rs', 'defect_rate')`,
      sql`insert into factory.rule_conflicts (tenant_id, ruleset_id, rule_version_1, rule_version_2, conflict_type, description, severity)
          values (${tenantId}::uuid, ${rulesetId}::uuid, 1, 2, 'output_conflict', 'd', 'critical'), (${tenantId}::uuid, ${rulesetId}::uuid, 1, 3, 'output_conflict', 'd', 'high')`,
      sql`insert into factory.mcp_servers (id, tenant_id, name, endpoint, config, circuit_breaker_state) values (${serverId}::uuid, ${tenantId}::uuid, 'mes', 'e', '{}', 'open')`,
    );

    // Two overlapping runs: each transition recorded and sent once.
    await Promise.all([evaluateAlarms(testEnv), evaluateAlarms(testEnv)]);
    await evaluateAlarms(testEnv);
    const raised = await events(tenantId);
    expect(raised.map((e) => e.monitor).sort()).toEqual([...MONITOR_NAMES].sort());
    expect(raised.every((e) => e.transition === "raised")).toBe(true);
    const first = await deliveredAtLeast(hook, 6);
    expect(first).toHaveLength(6);
    expect(first.filter((d) => !d.verified)).toEqual([]);
    expect(new Set(first.map((d) => d.id))).toEqual(new Set(raised.map((e) => e.id)));
    expect((await events(tenantId)).every((e) => e.delivery_status === "delivered" && e.attempts === 1)).toBe(true);
    const cost = first.find((d) => d.body.data.monitor === "llm_cost_usd_today")!;
    expect(cost.body).toMatchObject({
      type: "factory.monitor.raised",
      data: { tenant_id: tenantId, monitor: "llm_cost_usd_today", transition: "raised", state: "alarm", value: 150, threshold: 100, window: "utc_day" },
    });
    expect(Math.abs(Number(cost.timestamp) - Date.now() / 1000)).toBeLessThan(120);

    const alarmed = (await monitoring(admin.bearer)).monitors;
    for (const name of MONITOR_NAMES) {
      expect(alarmed[name]!.state, name).toBe("alarm");
      expect(alarmed[name]!.alarmSince, name).not.toBeNull();
    }
    expect(alarmed.critical_conflicts_unresolved).toMatchObject({ value: 1 });
    expect(alarmed.mcp_circuits_open).toMatchObject({ value: 1 });

    // Data that clears each one.
    await service(
      sql`update factory.judgment_executions set latency_ms = 50, cache_hit = true where tenant_id = ${tenantId}::uuid`,
      sql`update factory.llm_calls set created_at = now() - interval '2 days' where tenant_id = ${tenantId}::uuid`,
      sql`update factory.workflow_instances set status = 'COMPLETED' where tenant_id = ${tenantId}::uuid`,
      sql`update factory.rule_conflicts set resolution_status = 'accepted' where tenant_id = ${tenantId}::uuid and severity = 'critical'`,
      sql`update factory.mcp_servers set circuit_breaker_state = 'half_open' where id = ${serverId}::uuid`,
    );
    await Promise.all([evaluateAlarms(testEnv), evaluateAlarms(testEnv)]);
    const all = await events(tenantId);
    expect(all.filter((e) => e.transition === "cleared").map((e) => e.monitor).sort()).toEqual([...MONITOR_NAMES].sort());
    const second = await deliveredAtLeast(hook, 12);
    expect(second).toHaveLength(12);
    expect(second.filter((d) => !d.verified)).toEqual([]);
    expect(second.slice(6).every((d) => d.body.type === "factory.monitor.cleared" && d.body.data.state === "ok")).toBe(true);
    const cleared = (await monitoring(admin.bearer)).monitors;
    for (const name of MONITOR_NAMES) expect(cleared[name]!.state, name).toBe("ok");

    // Nothing changed: no new transition, nothing sent.
    await evaluateAlarms(testEnv);
    expect(await events(tenantId)).toHaveLength(12);
    expect(await delivered(hook)).toHaveLength(12);
  });

  it("retries a failed delivery with the same webhook-id and records why it failed; tenants without a webhook are skipped", async () => {
    const hook = `flaky-${crypto.randomUUID()}`;
    const { tenantId } = await seedTenant({ settings: webhookSettings(hook) });
    const quiet = await seedTenant();
    await service(llmCall(tenantId, 1000), llmCall(quiet.tenantId, 1000));
    await evaluateAlarms(testEnv);
    const [failed] = await events(tenantId);
    expect(failed).toMatchObject({ monitor: "llm_cost_usd_today", delivery_status: "pending", attempts: 1, last_error: "the receiver answered HTTP 500" });
    expect(await events(quiet.tenantId)).toMatchObject([{ monitor: "llm_cost_usd_today", transition: "raised", delivery_status: "skipped", attempts: 0 }]);

    // Not due before its backoff; due once it has passed.
    await evaluateAlarms(testEnv);
    expect((await events(tenantId))[0]!.attempts).toBe(1);
    await service(sql`update factory.monitor_alarm_events set next_attempt_at = now() where id = ${failed!.id}::uuid`);
    await evaluateAlarms(testEnv);
    expect((await events(tenantId))[0]).toMatchObject({ delivery_status: "delivered", attempts: 2, last_error: null });
    const got = await delivered(hook);
    expect(got.map((d) => [d.id, d.verified, d.status])).toEqual([
      [failed!.id, true, 500],
      [failed!.id, true, 200],
    ]);
  });

  it("the receiver refuses a signature made with another secret or over another body", async () => {
    const hook = crypto.randomUUID();
    const body = JSON.stringify({ type: "factory.monitor.raised", data: {} });
    const post = async (headers: Record<string, string>, sent = body) =>
      (await fetch(`${testEnv.TEST_WEBHOOK_URL}/hooks/${hook}`, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: sent })).status;
    const good = await standardWebhookHeaders(testEnv.TEST_WEBHOOK_SECRET!, "msg_1", body);
    expect(await post(good)).toBe(200);
    expect(await post(good, `${body} `)).toBe(401);
    expect(await post(await standardWebhookHeaders(`whsec_${btoa("another secret of 24 bytes!!")}`, "msg_2", body))).toBe(401);
    expect(await post(await standardWebhookHeaders(testEnv.TEST_WEBHOOK_SECRET!, "msg_3", body, new Date(Date.now() - 600_000)))).toBe(401);
    expect((await delivered(hook)).map((d) => d.verified)).toEqual([true, false, false, false]);
  });
});
