import { z } from "@hono/zod-openapi";
import { json } from "../platform/route";
import { createRouter } from "../platform/router";
import { factoryRoute, runFactory } from "./access";
import { callerReadings, type MonitorReading } from "./monitor-sql";
import { MONITOR_NAMES, MONITOR_STATES, MONITOR_WINDOWS, MONITORS, type MonitorName } from "./monitors";
import { OPENMETRICS_CONTENT_TYPE, renderOpenMetrics } from "./openmetrics";

/**
 * §12.4's monitors for the caller's tenant (docs/factory-monitoring.md): GET /monitoring as JSON,
 * GET /metrics in the OpenMetrics text format. Each is one Postgres round trip: authorize, then
 * one statement that measures all six.
 */

const PERMISSION = "monitoring:read";
const definitions = new Map(MONITORS.map((m) => [m.name as string, m]));

const Monitor = z
  .object({
    monitor: z.enum(MONITOR_NAMES),
    description: z.string(),
    unit: z.enum(["ms", "usd", "ratio", "count"]),
    value: z.number().nullable().openapi({ description: "null when the window holds nothing to measure (state no_data)" }),
    threshold: z.number().openapi({ description: "The tenant's (settings.monitoring_thresholds) or the default" }),
    alarmWhen: z.enum(["above", "below"]).openapi({ description: "above: alarm when value > threshold; below: when value < threshold" }),
    state: z.enum(MONITOR_STATES),
    window: z.enum(MONITOR_WINDOWS).openapi({ description: "PT1H: the last hour; utc_day: since 00:00 UTC; current: the rows as they are" }),
    windowStart: z.string().nullable(),
    samples: z.number().int().openapi({ description: "What the value was measured over: judgments, LLM calls, ended runs, conflicts or servers" }),
    alarmSince: z.string().nullable().openapi({ description: "When the minute cron raised the alarm still standing, else null" }),
  })
  .openapi("FactoryMonitor");
const Monitoring = z.object({ tenantId: z.uuid(), evaluatedAt: z.string(), monitors: z.array(Monitor) }).openapi("FactoryMonitoring");

const tags = ["factory"];
const getMonitoring = factoryRoute({
  method: "get",
  path: "/monitoring",
  tags,
  summary: "The six monitors of §12.4 for the caller's tenant: value, threshold, state and window of each",
  permission: PERMISSION,
  responses: { 200: json(Monitoring, "The monitors, in a fixed order") },
});
const getMetrics = factoryRoute({
  method: "get",
  path: "/metrics",
  tags,
  summary: "The same monitors in the OpenMetrics text format, for a Prometheus scrape with a bearer token",
  permission: PERMISSION,
  responses: { 200: { description: "OpenMetrics 1.0 exposition ending in # EOF", content: { "application/openmetrics-text": { schema: z.string() } } } },
});

const iso = (epochMs: number | null) => (epochMs === null ? null : new Date(Number(epochMs)).toISOString());

function shown(r: MonitorReading) {
  const m = definitions.get(r.monitor)!;
  return {
    monitor: r.monitor as MonitorName,
    description: m.description,
    unit: m.unit,
    value: r.value === null ? null : Number(r.value),
    threshold: Number(r.threshold),
    alarmWhen: m.alarmWhen,
    state: r.state,
    window: m.window,
    windowStart: iso(r.window_start),
    samples: Number(r.samples),
    alarmSince: iso(r.alarm_since),
  };
}

export const monitoringRoutes = createRouter()
  .openapi(getMonitoring, async (c) => {
    const evaluatedAt = new Date().toISOString();
    const [readings] = await runFactory(c, getMonitoring, [callerReadings(c.var.db)] as const);
    return c.json({ tenantId: readings.rows[0]!.tenant_id, evaluatedAt, monitors: readings.rows.map(shown) }, 200);
  })
  .openapi(getMetrics, async (c) => {
    const [readings] = await runFactory(c, getMetrics, [callerReadings(c.var.db)] as const);
    const text = renderOpenMetrics(
      readings.rows.map((r) => ({ tenant: r.tenant_name, monitor: r.monitor as MonitorName, value: r.value === null ? null : Number(r.value), threshold: Number(r.threshold), samples: Number(r.samples), state: r.state })),
    );
    return c.body(text, 200, { "Content-Type": OPENMETRICS_CONTENT_TYPE });
  });
