/** Definitions the workflow tests start from (test/worker/factory-workflows-*.test.ts). */

export const RULESET = "6f0c6e9e-52f3-4c8e-9a53-0c5a6d1f0001";
export const CONNECTOR = "6f0c6e9e-52f3-4c8e-9a53-0c5a6d1f0002";
export const MCP_SERVER = "6f0c6e9e-52f3-4c8e-9a53-0c5a6d1f0003";

/** §3.1's example made whole: collect, judge, branch on the result, act or wait for approval. */
export function sampleDsl(name = "defect_analysis_workflow"): Record<string, any> {
  return {
    name,
    version: "1.0.0",
    description: "defect analysis",
    variables: {
      global: { threshold_defect_rate: { type: "number", default: 0.05 } },
      input: { line_code: { type: "string", required: true }, shift: { type: "string", required: true, enum: ["day", "night"] } },
    },
    nodes: [
      {
        id: "data_collect",
        type: "DATA",
        config: { connector_id: CONNECTOR, query: "select * from production where line = :line and shift = :shift", params: { line: "$.input.line_code", shift: "$.input.shift" } },
        timeout_seconds: 30,
        retry_policy: { max_attempts: 5, retry_on_errors: ["TIMEOUT"] },
      },
      {
        id: "defect_judgment",
        type: "JUDGMENT",
        config: { ruleset_id: RULESET, method: "hybrid", input_mapping: { line: "$.input.line_code", data: "$.nodes.data_collect.result.rows" } },
      },
      {
        id: "route",
        type: "SWITCH",
        config: { cases: [{ when: `nodes.defect_judgment.result.result == "critical"`, next: "approve" }], default: "notify" },
      },
      { id: "approve", type: "APPROVAL", config: { message: "stop the line?", timeout_seconds: 3600, approvers: { roles: ["approver"] } }, next: null },
      { id: "notify", type: "ACTION", config: { url: "https://hooks.example.com/factory", body: { line: "$.input.line_code", verdict: "$.nodes.defect_judgment.result" } } },
    ],
  };
}

/** One node of every type, in a flow that passes every check. */
export function everyNodeType(name = "every_node"): Record<string, any> {
  return {
    name,
    variables: { input: { line_code: { type: "string", required: true } }, global: { limit: { type: "integer", default: 100 } } },
    nodes: [
      { id: "collect", type: "DATA", config: { connector_id: CONNECTOR, query: "select 1", max_rows: 10 } },
      { id: "stats", type: "BI", config: { source: "$.nodes.collect.result.rows", group_by: ["line"], aggregates: [{ name: "n", op: "count" }, { name: "bad", op: "rate", where: { ok: false } }] } },
      { id: "judge", type: "JUDGMENT", config: { ruleset_id: RULESET, input_mapping: { stats: "$.nodes.stats.result" } } },
      { id: "tool", type: "MCP", config: { server_id: MCP_SERVER, tool: "read_sensor", arguments: { line: "$.input.line_code" } } },
      { id: "fan_out", type: "PARALLEL", config: { branches: [{ name: "left", nodes: ["notify"] }, { name: "right", nodes: ["pause"] }] } },
      { id: "notify", type: "ACTION", config: { url: "http://127.0.0.1:8787/hook", method: "POST", kind: "notification" } },
      { id: "pause", type: "WAIT", config: { seconds: 5 } },
      { id: "deploy", type: "DEPLOY", config: { ruleset_id: RULESET, version: 2, canary_pct: 0.1 } },
      { id: "undo_deploy", type: "COMPENSATION", config: { target: "deploy", do: { type: "ROLLBACK", config: { ruleset_id: RULESET } } } },
      { id: "ok", type: "APPROVAL", config: { timeout_seconds: 600, on_timeout: "reject" } },
      { id: "check", type: "SWITCH", config: { cases: [{ when: "nodes.ok.result.decision == \"approved\" && globals.limit > 0", next: "simulate" }], default: "rollback" } },
      { id: "simulate", type: "SIMULATE", config: { ruleset_id: RULESET, version: 2, sample: { limit: 100 } }, next: null },
      { id: "rollback", type: "ROLLBACK", config: { ruleset_id: RULESET, to_version: 1 } },
    ],
  };
}

/** A shallow-enough deep copy with one change applied. */
export function changed(base: Record<string, any>, change: (d: Record<string, any>) => void): Record<string, any> {
  const copy = structuredClone(base);
  change(copy);
  return copy;
}
