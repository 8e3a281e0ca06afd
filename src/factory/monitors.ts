import { z } from "zod";

/**
 * The six monitors of spec 003 §12.4 (docs/factory-monitoring.md): what each measures, over which
 * window, and when it alarms. GET /monitoring, GET /metrics and the minute cron all read them
 * through monitorReadings() (monitor-sql.ts), which builds its SQL from this list.
 */

/** Where a monitor's value comes from: the last hour, the current UTC day, or the rows as they are now. */
export const MONITOR_WINDOWS = ["PT1H", "utc_day", "current"] as const;
export type MonitorWindow = (typeof MONITOR_WINDOWS)[number];

export interface MonitorDefinition {
  /** Its name in responses, labels, settings.monitoring_thresholds and alarm rows. */
  name: string;
  description: string;
  unit: "ms" | "usd" | "ratio" | "count";
  window: MonitorWindow;
  /** `above`: alarm when value > threshold; `below`: alarm when value < threshold. */
  alarmWhen: "above" | "below";
  defaultThreshold: number;
  /** Whether settings.monitoring_thresholds may set another threshold for the tenant. */
  tenantThreshold: boolean;
}

export const MONITORS = [
  {
    name: "judgment_latency_p95_ms",
    description: "95th percentile of judgment_executions.latency_ms over the judgments of the last hour",
    unit: "ms",
    window: "PT1H",
    alarmWhen: "above",
    defaultThreshold: 3000,
    tenantThreshold: true,
  },
  {
    name: "llm_cost_usd_today",
    description: "Sum of llm_calls.cost_estimate_usd since 00:00 UTC",
    unit: "usd",
    window: "utc_day",
    alarmWhen: "above",
    defaultThreshold: 100,
    tenantThreshold: true,
  },
  {
    name: "workflow_failure_rate",
    description: "Share of workflow instances that ended in the last hour as FAILED or TIMEOUT (of COMPLETED, FAILED and TIMEOUT; CANCELLED counts as neither)",
    unit: "ratio",
    window: "PT1H",
    alarmWhen: "above",
    defaultThreshold: 0.05,
    tenantThreshold: true,
  },
  {
    name: "critical_conflicts_unresolved",
    description: "Rule conflicts of severity critical whose resolution_status is unresolved or investigating",
    unit: "count",
    window: "current",
    alarmWhen: "above",
    defaultThreshold: 0,
    tenantThreshold: false,
  },
  {
    name: "mcp_circuits_open",
    description: "MCP servers whose circuit_breaker_state is open",
    unit: "count",
    window: "current",
    alarmWhen: "above",
    defaultThreshold: 0,
    tenantThreshold: false,
  },
  {
    name: "cache_hit_rate",
    description: "Share of the last hour's judgments served from the judgment cache (cache_hit), measured from 20 judgments on",
    unit: "ratio",
    window: "PT1H",
    alarmWhen: "below",
    defaultThreshold: 0.3,
    tenantThreshold: true,
  },
] as const satisfies readonly MonitorDefinition[];

export type MonitorName = (typeof MONITORS)[number]["name"];
export const MONITOR_NAMES = MONITORS.map((m) => m.name) as [MonitorName, ...MonitorName[]];

/** Below this many judgments in the window the cache hit rate has no value (a cold cache of three judgments is no alarm). */
export const CACHE_HIT_MIN_JUDGMENTS = 20;

/** `no_data`: nothing to measure in the window; it alarms no more than `ok` does (and clears an alarm). */
export const MONITOR_STATES = ["ok", "alarm", "no_data"] as const;

const Ratio = z.number().min(0).max(1);
const Positive = z.number().positive().max(1e12);

/** tenants.settings.monitoring_thresholds: the tenant's own thresholds (the two counts always alarm above 0). */
export const MonitoringThresholds = z
  .object({
    judgment_latency_p95_ms: Positive,
    llm_cost_usd_today: Positive,
    workflow_failure_rate: Ratio,
    cache_hit_rate: Ratio,
  })
  .partial()
  .strict();
