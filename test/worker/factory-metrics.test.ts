import { describe, expect, it } from "vitest";
import { renderOpenMetrics } from "../../src/factory/openmetrics";
import { call, expectProblem, roundTrips } from "./helpers";
import { seedTenant, seedUser } from "./factory-helpers";
import { judgments, llmCall, service } from "./factory-monitoring-helpers";

const TYPES = new Set(["counter", "gauge", "histogram", "gaugehistogram", "stateset", "info", "summary", "unknown"]);
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const NUMBER = /^(NaN|[+-]Inf|[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)$/;

interface Family {
  name: string;
  type?: string;
  unit?: string;
  help?: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

/** Labels `{a="x",b="y"}` with OpenMetrics' escapes (\\, \", \n); throws on anything else. */
function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new Error(`label without value: ${line}`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name ${name}: ${line}`);
    if (name in labels) throw new Error(`label ${name} twice: ${line}`);
    if (text[eq + 1] !== '"') throw new Error(`unquoted label value: ${line}`);
    let value = "";
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\") {
        const next = text[++j];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else throw new Error(`bad escape \\${next}: ${line}`);
      } else value += text[j];
    }
    if (text[j] !== '"') throw new Error(`unterminated label value: ${line}`);
    labels[name] = value;
    i = j + 1;
    if (i < text.length) {
      if (text[i] !== ",") throw new Error(`expected , between labels: ${line}`);
      i++;
    }
  }
  return labels;
}

/** A strict reading of the OpenMetrics 1.0 text format, as far as this exposition uses it; throws on any departure. */
function parseOpenMetrics(text: string): Family[] {
  if (!text.endsWith("# EOF\n")) throw new Error("the exposition must end with # EOF");
  const lines = text.slice(0, -1).split("\n");
  if (lines.filter((l) => l === "# EOF").length !== 1) throw new Error("# EOF must appear once, last");
  const families: Family[] = [];
  const done = new Set<string>();
  let current: Family | undefined;
  for (const line of lines.slice(0, -1)) {
    if (line === "" || line !== line.trimEnd()) throw new Error(`empty line or trailing space: ${JSON.stringify(line)}`);
    const meta = /^# (TYPE|HELP|UNIT) (\S+) ?(.*)$/.exec(line);
    if (line.startsWith("#")) {
      if (!meta) throw new Error(`unknown comment line: ${line}`);
      const [, kind, name, rest] = meta as unknown as [string, "TYPE" | "HELP" | "UNIT", string, string];
      if (!METRIC_NAME.test(name)) throw new Error(`bad metric name: ${line}`);
      if (current?.name !== name) {
        if (done.has(name)) throw new Error(`family ${name} interleaved`);
        if (current) done.add(current.name);
        current = { name, samples: [] };
        families.push(current);
      }
      if (current.samples.length) throw new Error(`metadata after samples: ${line}`);
      const key = kind.toLowerCase() as "type" | "help" | "unit";
      if (current[key] !== undefined) throw new Error(`${kind} twice for ${name}`);
      if (kind === "TYPE" && !TYPES.has(rest)) throw new Error(`unknown type: ${line}`);
      if (kind === "HELP" && /\\[^\\n"]/.test(rest)) throw new Error(`bad escape in HELP: ${line}`);
      current[key] = rest;
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a sample: ${line}`);
    const [, name, labelText, value] = sample as unknown as [string, string, string | undefined, string];
    if (!current || !current.type) throw new Error(`sample before its family's TYPE: ${line}`);
    const allowed = current.type === "counter" ? [`${current.name}_total`, `${current.name}_created`] : [current.name];
    if (!allowed.includes(name)) throw new Error(`sample ${name} outside family ${current.name}`);
    if (!NUMBER.test(value)) throw new Error(`bad value: ${line}`);
    const labels = labelText ? parseLabels(labelText, line) : {};
    if (current.samples.some((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))) throw new Error(`duplicate sample: ${line}`);
    current.samples.push({ name, labels, value: value === "NaN" ? NaN : value === "+Inf" ? Infinity : value === "-Inf" ? -Infinity : Number(value) });
  }
  for (const f of families) {
    if (!f.type) throw new Error(`family ${f.name} without TYPE`);
    if (f.unit && !f.name.endsWith(`_${f.unit}`)) throw new Error(`family ${f.name} must end with its unit ${f.unit}`);
    if (f.type === "stateset") {
      for (const s of f.samples) {
        if (!(f.name in s.labels)) throw new Error(`stateset sample without its ${f.name} label`);
        if (s.value !== 0 && s.value !== 1) throw new Error(`stateset value ${s.value}`);
      }
    }
  }
  return families;
}

const sampleOf = (families: Family[], family: string, labels: Record<string, string> = {}) =>
  families.find((f) => f.name === family)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));

describe("GET /metrics", () => {
  it("exposes the monitors in the OpenMetrics text format, parsed strictly, agreeing with GET /monitoring, in one round trip", async () => {
    const { tenantId, admin } = await seedTenant();
    await service(judgments(tenantId, 20, { latencyMs: 4500, cacheHit: false }), judgments(tenantId, 20, { latencyMs: 4500, cacheHit: true }), llmCall(tenantId, 12.25));
    const res = await call("GET", "/api/v1/factory/metrics", { token: admin.bearer });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8");
    expect(await roundTrips(res.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });
    const families = parseOpenMetrics(res.body as string);
    expect(families.map((f) => f.name)).toEqual([
      "factory_judgment_latency_p95_seconds",
      "factory_llm_cost_today_usd",
      "factory_workflow_failure_ratio",
      "factory_rule_conflicts_critical_unresolved",
      "factory_mcp_circuits_open",
      "factory_judgment_cache_hit_ratio",
      "factory_monitor_threshold",
      "factory_monitor_samples",
      "factory_monitor_state",
    ]);
    for (const f of families) {
      expect(f.help, f.name).toBeTruthy();
      for (const s of f.samples) expect(s.labels.tenant, f.name).toMatch(/^t-/);
    }

    const { body } = await call("GET", "/api/v1/factory/monitoring", { token: admin.bearer });
    const json = Object.fromEntries(body.monitors.map((m: { monitor: string }) => [m.monitor, m]));
    expect(sampleOf(families, "factory_judgment_latency_p95_seconds")!.value).toBe(4.5);
    expect(sampleOf(families, "factory_llm_cost_today_usd")!.value).toBe(12.25);
    expect(sampleOf(families, "factory_judgment_cache_hit_ratio")!.value).toBe(0.5);
    expect(sampleOf(families, "factory_workflow_failure_ratio")!.value).toBeNaN();
    expect(sampleOf(families, "factory_mcp_circuits_open")!.value).toBe(0);
    for (const [monitor, m] of Object.entries(json) as [string, { threshold: number; samples: number; state: string }][]) {
      expect(sampleOf(families, "factory_monitor_threshold", { monitor })!.value, monitor).toBe(m.threshold);
      expect(sampleOf(families, "factory_monitor_samples", { monitor })!.value, monitor).toBe(m.samples);
      const states = families.find((f) => f.name === "factory_monitor_state")!.samples.filter((s) => s.labels.monitor === monitor);
      expect(states.map((s) => [s.labels.factory_monitor_state, s.value]), monitor).toEqual(["ok", "alarm", "no_data"].map((s) => [s, s === m.state ? 1 : 0]));
    }
    expect(json.judgment_latency_p95_ms.state).toBe("alarm");

    const viewer = await seedUser(tenantId, "viewer");
    const refused = await call("GET", "/api/v1/factory/metrics", { token: viewer.bearer });
    expectProblem(refused, 403, "permission_missing");
    expect(refused.body.permission).toBe("monitoring:read");
    expectProblem(await call("GET", "/api/v1/factory/metrics"), 401, "unauthenticated");
  });

  it("escapes label values and spells missing values NaN; the parser refuses what the format forbids", () => {
    const text = renderOpenMetrics([{ tenant: 'a"b\\c\nd', monitor: "mcp_circuits_open", value: null, threshold: 0, samples: 0, state: "no_data" }]);
    const families = parseOpenMetrics(text);
    expect(sampleOf(families, "factory_mcp_circuits_open")!.labels.tenant).toBe('a"b\\c\nd');
    expect(sampleOf(families, "factory_mcp_circuits_open")!.value).toBeNaN();
    expect(() => parseOpenMetrics(text.replace("# EOF\n", ""))).toThrow(/EOF/);
    expect(() => parseOpenMetrics(text.replace("# TYPE factory_mcp_circuits_open gauge\n", ""))).toThrow(/TYPE/);
    expect(() => parseOpenMetrics(text.replace("factory_judgment_latency_p95_seconds seconds", "factory_judgment_latency_p95_seconds ms"))).toThrow(/unit/);
    expect(() => parseOpenMetrics(`${text.slice(0, -"# EOF\n".length)}factory_mcp_circuits_open{tenant="x"} 1\n# EOF\n`)).toThrow(/outside family/);
  });
});
