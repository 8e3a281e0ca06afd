import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../functions/worker";
import { checkConnectorHealth } from "../../src/factory/connector-health";
import { EVERY_MINUTE } from "../../src/platform/system";
import { testEnv } from "./helpers";
import { seedTenant, type FactoryUser } from "./factory-helpers";
import { BASE, callKept as call, graphqlConfig, pgSource, restConfig, searchForSecrets, secret, sourceStats, sourceToken, watch } from "./factory-connectors-helpers";

searchForSecrets();
watch(sourceToken);

async function connector(admin: FactoryUser, body: Record<string, unknown>): Promise<string> {
  const res = await call("POST", BASE, { token: admin.bearer, body: { name: `c-${crypto.randomUUID()}`, ...body } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

/** The connectors as the API shows them, once every one has a result (another file's cron run may hold a claim a moment). */
async function checked(admin: FactoryUser, ids: string[]) {
  for (let attempt = 0; ; attempt++) {
    const rows = await Promise.all(ids.map(async (id) => (await call("GET", `${BASE}/${id}`, { token: admin.bearer })).body));
    if (rows.every((r) => r.lastHealthStatus !== null) || attempt === 20) return rows;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe("connector health checks", () => {
  it("set status, last_health_check_at and last_health_status per source, once per interval even when runs overlap", async () => {
    const { admin } = await seedTenant();
    const probe = `/health/${crypto.randomUUID()}`;
    const ids = [
      await connector(admin, { type: "postgres", ...pgSource() }),
      await connector(admin, { type: "postgres", ...pgSource({ port: 9, query_timeout_seconds: 2 }) }),
      await connector(admin, { type: "rest_api", config: restConfig({ health_path: probe }) }),
      await connector(admin, { type: "graphql", config: graphqlConfig(), credentials: { bearer_token: sourceToken } }),
      await connector(admin, { type: "graphql", config: graphqlConfig(), credentials: { headers: { Authorization: `Bearer ${secret("wrong")}` } } }),
    ];
    const before = Date.now();
    const reports = await Promise.all([checkConnectorHealth(testEnv), checkConnectorHealth(testEnv)]);
    expect(reports.every((r) => typeof r.checked === "number")).toBe(true);

    const rows = await checked(admin, ids);
    expect(rows.map((r) => r.status)).toEqual(["active", "error", "active", "active", "error"]);
    expect(rows[0].lastHealthStatus).toMatch(/^ok \(\d+ ms\)$/);
    expect(rows[1].lastHealthStatus).toMatch(/^unreachable: /);
    expect(rows[4].lastHealthStatus).toBe("unreachable: the source answered HTTP 401");
    for (const row of rows) expect(Date.parse(row.lastHealthCheckAt)).toBeGreaterThanOrEqual(before - 1000);
    // Two overlapping runs (and any other file's cron run): each connector probed once.
    expect((await sourceStats()).health[`/api/v1${probe}`]).toBe(1);

    // Not due again within the interval: a new run leaves them alone.
    await checkConnectorHealth(testEnv);
    const again = await checked(admin, ids);
    expect(again.map((r) => r.lastHealthCheckAt)).toEqual(rows.map((r) => r.lastHealthCheckAt));
    expect((await sourceStats()).health[`/api/v1${probe}`]).toBe(1);

    // A new config resets the status; the minute cron checks it again.
    const changed = await call("PATCH", `${BASE}/${ids[2]}`, { token: admin.bearer, body: { type: "rest_api", config: restConfig({ health_path: probe, max_rows: 10 }) } });
    expect(changed.body).toMatchObject({ status: "inactive", lastHealthStatus: null });
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: EVERY_MINUTE, scheduledTime: Date.now() }), testEnv as never, ctx);
    await waitOnExecutionContext(ctx);
    const [rechecked] = await checked(admin, [ids[2]!]);
    expect(rechecked).toMatchObject({ status: "active", lastHealthStatus: expect.stringMatching(/^ok/) });
    expect((await sourceStats()).health[`/api/v1${probe}`]).toBe(2);
  });
});
