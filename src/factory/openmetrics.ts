import { MONITOR_STATES, type MonitorName } from "./monitors";

/**
 * The monitors in the OpenMetrics 1.0 text format (openmetrics.io), for a Prometheus scrape:
 * one family per monitor in base units (seconds, ratios), then the thresholds, the sample counts
 * and the state as a StateSet, every sample labelled with the tenant. `# EOF` ends the exposition.
 */

export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

export interface MetricReading {
  tenant: string;
  monitor: MonitorName;
  value: number | null;
  threshold: number;
  samples: number;
  state: (typeof MONITOR_STATES)[number];
}

/** Each monitor's own family: name, unit (the name's suffix, as OpenMetrics requires), help, and the factor from the monitor's unit. */
const FAMILIES: Record<MonitorName, { name: string; unit?: string; help: string; scale: number }> = {
  judgment_latency_p95_ms: { name: "factory_judgment_latency_p95_seconds", unit: "seconds", help: "95th percentile of judgment latency over the last hour.", scale: 1 / 1000 },
  llm_cost_usd_today: { name: "factory_llm_cost_today_usd", unit: "usd", help: "Estimated LLM cost since 00:00 UTC, in US dollars.", scale: 1 },
  workflow_failure_rate: { name: "factory_workflow_failure_ratio", unit: "ratio", help: "Share of the workflow runs ended in the last hour that failed or timed out.", scale: 1 },
  critical_conflicts_unresolved: { name: "factory_rule_conflicts_critical_unresolved", help: "Critical rule conflicts not yet resolved or accepted.", scale: 1 },
  mcp_circuits_open: { name: "factory_mcp_circuits_open", help: "MCP servers whose circuit breaker is open.", scale: 1 },
  cache_hit_rate: { name: "factory_judgment_cache_hit_ratio", unit: "ratio", help: "Share of the last hour's judgments served from the cache (from 20 judgments on).", scale: 1 },
};

/** A label value with `\`, `"` and newlines escaped. */
const labelValue = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const labels = (pairs: Record<string, string>) => `{${Object.entries(pairs).map(([k, v]) => `${k}="${labelValue(v)}"`).join(",")}}`;
/** OpenMetrics numbers: NaN for no value, +Inf/-Inf spelled so. */
const num = (n: number | null) => (n === null || Number.isNaN(n) ? "NaN" : n === Infinity ? "+Inf" : n === -Infinity ? "-Inf" : String(n));

function family(name: string, type: string, help: string, samples: string[], unit?: string): string[] {
  return [`# TYPE ${name} ${type}`, ...(unit ? [`# UNIT ${name} ${unit}`] : []), `# HELP ${name} ${help}`, ...samples];
}

export function renderOpenMetrics(readings: readonly MetricReading[]): string {
  const lines: string[] = [];
  for (const [monitor, f] of Object.entries(FAMILIES) as [MonitorName, (typeof FAMILIES)[MonitorName]][]) {
    const samples = readings.filter((r) => r.monitor === monitor).map((r) => `${f.name}${labels({ tenant: r.tenant })} ${num(r.value === null ? null : r.value * f.scale)}`);
    lines.push(...family(f.name, "gauge", f.help, samples, f.unit));
  }
  const per = (metric: (r: MetricReading) => string) => readings.map((r) => metric(r));
  lines.push(
    ...family(
      "factory_monitor_threshold",
      "gauge",
      "The alarm threshold of each monitor, in the unit GET /monitoring reports it (milliseconds, US dollars, ratios, counts).",
      per((r) => `factory_monitor_threshold${labels({ tenant: r.tenant, monitor: r.monitor })} ${num(r.threshold)}`),
    ),
    ...family(
      "factory_monitor_samples",
      "gauge",
      "What each monitor's value was measured over: judgments, LLM calls, ended workflow runs, conflicts or servers.",
      per((r) => `factory_monitor_samples${labels({ tenant: r.tenant, monitor: r.monitor })} ${num(r.samples)}`),
    ),
    ...family(
      "factory_monitor_state",
      "stateset",
      "Each monitor's state: ok, alarm, or no_data (nothing to measure in its window).",
      readings.flatMap((r) => MONITOR_STATES.map((s) => `factory_monitor_state${labels({ tenant: r.tenant, monitor: r.monitor, factory_monitor_state: s })} ${r.state === s ? 1 : 0}`)),
    ),
    "# EOF",
  );
  return `${lines.join("\n")}\n`;
}
