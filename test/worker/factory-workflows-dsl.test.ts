import { Validator } from "@cfworker/json-schema";
import { describe, expect, it } from "vitest";
import { checkDefinition, checkInput, compileCondition, dslDigest, evaluateCondition, flowOf, normalisedSteps, type DslFault } from "../../src/factory/workflow-dsl";
import { parsePath as pathSegments } from "../../src/factory/workflow-paths";
import { dslJsonSchema, NODE_TYPES } from "../../src/factory/workflow-dsl-schema";
import published from "../../docs/factory-workflow-dsl.schema.json";
import { changed, CONNECTOR, everyNodeType, RULESET, sampleDsl } from "./factory-workflows-helpers";

/** The faults of a definition (an empty list when it passes). */
function faultsOf(dsl: unknown): DslFault[] {
  const result = checkDefinition(dsl);
  return result.ok ? [] : result.faults;
}

const node = (id: string, extra: Record<string, unknown> = {}) => ({ id, type: "WAIT", config: { seconds: 1 }, ...extra });
const flat = (...nodes: unknown[]) => ({ name: "flat", nodes });

/** [what is wrong, the definition, the pointer of the fault, a word of its message]. */
const CASES: [string, unknown, string, RegExp][] = [
  ["no nodes", { name: "x", nodes: [] }, "/nodes", /at least 1|>=1|too small/i],
  ["not an object", [], "", /object/i],
  ["unknown top-level member", { ...flat(node("a")), steps: [] }, "", /steps/],
  ["bad node id", flat(node("A-1")), "/nodes/0/id", /node id/],
  ["unknown node type", flat({ id: "a", type: "LOOP", config: {} }), "/nodes/0/type", /DATA/],
  ["duplicate node id", flat(node("a"), node("b"), node("a")), "/nodes/2/id", /already used by \/nodes\/0/],
  ["next names no node", flat(node("a", { next: "ghost" })), "/nodes/0/next", /ghost/],
  ["unknown config member", flat({ id: "a", type: "WAIT", config: { seconds: 1, minutes: 2 } }), "/nodes/0/config", /minutes|Invalid input/],
  ["DATA connector_id not a uuid", flat({ id: "a", type: "DATA", config: { connector_id: "mes", query: "select 1" } }), "/nodes/0/config/connector_id", /UUID/i],
  ["JUDGMENT without input_mapping", flat({ id: "a", type: "JUDGMENT", config: { ruleset_id: RULESET } }), "/nodes/0/config/input_mapping", /expected record|object/i],
  ["ACTION over http to a remote host", flat({ id: "a", type: "ACTION", config: { url: "http://example.com/x" } }), "/nodes/0/config/url", /https/],
  ["ACTION setting a signature header", flat({ id: "a", type: "ACTION", config: { url: "https://x.test/", headers: { "Webhook-Signature": "v1,x" } } }), "/nodes/0/config/headers/Webhook-Signature", /engine/],
  ["APPROVAL without timeout", flat({ id: "a", type: "APPROVAL", config: {} }), "/nodes/0/config/timeout_seconds", /number/i],
  ["WAIT with seconds and until", flat({ id: "a", type: "WAIT", config: { seconds: 1, until: "2030-01-01T00:00:00Z" } }), "/nodes/0/config", /Invalid input/i],
  ["BI sum without a field", flat(node("src"), { id: "a", type: "BI", config: { source: "$.nodes.src.result", aggregates: [{ name: "s", op: "sum" }] } }), "/nodes/1/config/aggregates/0/field", /field/],
  ["BI rate without where", flat(node("src"), { id: "a", type: "BI", config: { source: "$.nodes.src.result", aggregates: [{ name: "r", op: "rate" }] } }), "/nodes/1/config/aggregates/0/where", /where/],
  ["retry delays reversed", flat(node("a", { type: "DATA", config: { connector_id: CONNECTOR, query: "q" }, retry_policy: { initial_delay_ms: 5000, max_delay_ms: 10 } })), "/nodes/0/retry_policy/max_delay_ms", /initial/],
  ["unknown retry error code", flat(node("a", { retry_policy: { retry_on_errors: ["OOPS"] } })), "/nodes/0/retry_policy/retry_on_errors/0", /TIMEOUT/],
  ["cycle through next", flat(node("a", { next: "b" }), node("b", { next: "a" })), "/nodes/1/next", /cycle: a → b → a/],
  ["self loop", flat(node("a", { next: "a" })), "/nodes/0/next", /cycle: a → a/],
  [
    "cycle through a SWITCH case",
    flat(node("a"), { id: "s", type: "SWITCH", config: { cases: [{ when: "true", next: "a" }] } }),
    "/nodes/1/config/cases/0/next",
    /cycle/,
  ],
  ["SWITCH case names no node", flat({ id: "s", type: "SWITCH", config: { cases: [{ when: "true", next: "nowhere" }] } }), "/nodes/0/config/cases/0/next", /nowhere/],
  ["SWITCH default names no node", flat({ id: "s", type: "SWITCH", config: { cases: [{ when: "true", next: "b" }], default: "zz" } }, node("b")), "/nodes/0/config/default", /zz/],
  ["SWITCH condition does not compile", flat({ id: "s", type: "SWITCH", config: { cases: [{ when: "input.x ==", next: "b" }] } }, node("b")), "/nodes/0/config/cases/0/when", /compile/],
  ["SWITCH condition calls an unknown function", flat({ id: "s", type: "SWITCH", config: { cases: [{ when: "launch(1)", next: "b" }] } }, node("b")), "/nodes/0/config/cases/0/when", /launch/],
  ["SWITCH condition reads an unknown variable", flat({ id: "s", type: "SWITCH", config: { cases: [{ when: "temperature > 3", next: "b" }] } }, node("b")), "/nodes/0/config/cases/0/when", /temperature/],
  ["SWITCH condition reads an undeclared input", flat({ id: "s", type: "SWITCH", config: { cases: [{ when: "input.line == 1", next: "b" }] } }, node("b")), "/nodes/0/config/cases/0/when", /input.line/],
  ["SWITCH condition reads global (reserved in Rhai)", { ...flat({ id: "s", type: "SWITCH", config: { cases: [{ when: "global.limit > 1", next: "b" }] } }, node("b")), variables: { global: { limit: { type: "integer" } } } }, "/nodes/0/config/cases/0/when", /globals/],
  ["SWITCH condition reads an undeclared global", flat({ id: "s", type: "SWITCH", config: { cases: [{ when: "globals.limit > 1", next: "b" }] } }, node("b")), "/nodes/0/config/cases/0/when", /globals.limit/],
  ["SWITCH condition reads a missing node", flat({ id: "s", type: "SWITCH", config: { cases: [{ when: "nodes.ghost.status == 1", next: "b" }] } }, node("b")), "/nodes/0/config/cases/0/when", /ghost/],
  ["SWITCH with next", flat({ id: "s", type: "SWITCH", config: { cases: [{ when: "true", next: "b" }] }, next: "b" }, node("b")), "/nodes/0/next", /cases/],
  ["PARALLEL member names no node", flat({ id: "p", type: "PARALLEL", config: { branches: [{ name: "x", nodes: ["ghost"] }] } }), "/nodes/0/config/branches/0/nodes/0", /ghost/],
  [
    "PARALLEL member in two branches",
    flat({ id: "p", type: "PARALLEL", config: { branches: [{ name: "x", nodes: ["b"] }, { name: "y", nodes: ["b"] }] } }, node("b")),
    "/nodes/0/config/branches/1/nodes/0",
    /one branch/,
  ],
  ["PARALLEL member with next", flat({ id: "p", type: "PARALLEL", config: { branches: [{ name: "x", nodes: ["b"] }] } }, node("b", { next: null })), "/nodes/1/next", /no next/],
  [
    "PARALLEL member on the main path",
    flat(node("a", { next: "b" }), { id: "p", type: "PARALLEL", config: { branches: [{ name: "x", nodes: ["b"] }] } }, node("b")),
    "/nodes/0/next",
    /branch member/,
  ],
  ["PARALLEL member is the start node", flat(node("b"), { id: "p", type: "PARALLEL", config: { branches: [{ name: "x", nodes: ["b"] }] } }), "/nodes/1/config/branches/0/nodes/0", /start node/],
  ["PARALLEL holding a SWITCH", flat({ id: "p", type: "PARALLEL", config: { branches: [{ name: "x", nodes: ["s"] }] } }, { id: "s", type: "SWITCH", config: { cases: [{ when: "true", next: "p" }] } }), "/nodes/0/config/branches/0/nodes/0", /SWITCH/],
  ["PARALLEL branch named twice", flat({ id: "p", type: "PARALLEL", config: { branches: [{ name: "x", nodes: ["b"] }, { name: "x", nodes: ["c"] }] } }, node("b"), node("c")), "/nodes/0/config/branches/1/name", /twice/],
  ["COMPENSATION target names no node", flat(node("a"), { id: "c", type: "COMPENSATION", config: { target: "ghost", do: { type: "ROLLBACK", config: { ruleset_id: RULESET } } } }), "/nodes/1/config/target", /ghost/],
  [
    "COMPENSATION before its target",
    flat({ id: "c", type: "COMPENSATION", config: { target: "a", do: { type: "ROLLBACK", config: { ruleset_id: RULESET } } } }, node("a")),
    "/nodes/0/config/target",
    /before this COMPENSATION/,
  ],
  ["COMPENSATION undoing with a WAIT", flat(node("a"), { id: "c", type: "COMPENSATION", config: { target: "a", do: { type: "WAIT", config: { seconds: 1 } } } }), "/nodes/1/config/do/type", /ACTION/],
  ["unreachable node", flat(node("a", { next: null }), node("b")), "/nodes/1", /never reached/],
  ["path to an undeclared input", flat({ id: "a", type: "MCP", config: { server_id: CONNECTOR, tool: "t", arguments: { x: "$.input.line" } } }), "/nodes/0/config/arguments/x", /line/],
  ["path to an undeclared global", flat({ id: "a", type: "MCP", config: { server_id: CONNECTOR, tool: "t", arguments: { x: ["$.global.limit"] } } }), "/nodes/0/config/arguments/x/0", /limit/],
  ["path to a missing node", flat({ id: "a", type: "MCP", config: { server_id: CONNECTOR, tool: "t", arguments: { x: "$.nodes.ghost.result" } } }), "/nodes/0/config/arguments/x", /ghost/],
  ["path to a node's unknown part", flat(node("b"), { id: "a", type: "MCP", config: { server_id: CONNECTOR, tool: "t", arguments: { x: "$.nodes.b.output" } } }), "/nodes/1/config/arguments/x", /result and status/],
  ["path with an unknown root", flat({ id: "a", type: "MCP", config: { server_id: CONNECTOR, tool: "t", arguments: { x: "$.env.SECRET" } } }), "/nodes/0/config/arguments/x", /\$\.env/],
  ["path of bad syntax", flat({ id: "a", type: "MCP", config: { server_id: CONNECTOR, tool: "t", arguments: { x: "$.input..a" } } }), "/nodes/0/config/arguments/x", /not a path/],
  ["node reading itself", flat({ id: "a", type: "MCP", config: { server_id: CONNECTOR, tool: "t", arguments: { x: "$.nodes.a.result" } } }), "/nodes/0/config/arguments/x", /own result/],
  ["input without a type", { ...flat(node("a")), variables: { input: { line: { required: true } } } }, "/variables/input/line/type", /expected one of|Invalid/i],
  ["required input with a default", { ...flat(node("a")), variables: { input: { line: { type: "string", required: true, default: "L1" } } } }, "/variables/input/line/default", /required/],
  ["default of the wrong type", { ...flat(node("a")), variables: { global: { limit: { type: "integer", default: 1.5 } } } }, "/variables/global/limit/default", /integer/],
  ["default outside its enum", { ...flat(node("a")), variables: { input: { shift: { type: "string", enum: ["day", "night"], default: "noon" } } } }, "/variables/input/shift/default", /enum/],
  ["variable name not a name", { ...flat(node("a")), variables: { input: { "line code": { type: "string" } } } }, "/variables/input/line code", /name/],
  ["APPROVAL with a step timeout", flat({ id: "a", type: "APPROVAL", config: { timeout_seconds: 60 }, timeout_seconds: 10 }), "/nodes/0/timeout_seconds", /config.timeout_seconds/],
];

describe("workflow DSL: definitions that pass", () => {
  it("accepts §3.1's example made whole and one node of every type", () => {
    expect(faultsOf(sampleDsl())).toEqual([]);
    expect(faultsOf(everyNodeType())).toEqual([]);
    const types = new Set(everyNodeType().nodes.map((n: { type: string }) => n.type));
    expect([...NODE_TYPES].filter((t) => !types.has(t))).toEqual([]);
  });

  it("accepts $$. as literal text, Rhai locals in conditions and paths with indexes", () => {
    const dsl = changed(sampleDsl(), (d) => {
      d.nodes[4].config.body = { note: "$$.input.not_a_path", first: "$.nodes.data_collect.result.rows[0].qty" };
      d.nodes[2].config.cases[0].when = `let r = nodes.defect_judgment.result; r.confidence > globals.threshold_defect_rate && input.shift == "night"`;
    });
    expect(faultsOf(dsl)).toEqual([]);
  });

  it("derives the flow: implicit next skips branch members, explicit null ends, a SWITCH has none", () => {
    const result = checkDefinition(everyNodeType());
    if (!result.ok) throw new Error(JSON.stringify(result.faults));
    const flow = flowOf(result.definition);
    expect(flow.start).toBe("collect");
    expect(flow.next.get("fan_out")).toBe("deploy");
    expect(flow.next.has("notify")).toBe(false);
    expect(flow.next.has("check")).toBe(false);
    expect(flow.next.get("simulate")).toBeNull();
    expect(flow.next.get("rollback")).toBeNull();
    expect(flow.members.get("pause")).toEqual({ parallel: "fan_out", branch: "right" });
  });
});

describe("workflow DSL: each fault named by its JSON pointer", () => {
  it.each(CASES)("%s", (_what, dsl, pointer, message) => {
    const faults = faultsOf(dsl);
    const fault = faults.find((f) => f.pointer === pointer);
    expect(fault, `faults: ${JSON.stringify(faults)}`).toBeDefined();
    expect(fault!.message).toMatch(message);
  });

  it("reports every fault of a definition at once, sorted by pointer", () => {
    const dsl = flat(node("a", { next: "ghost" }), { id: "B", type: "WAIT", config: { seconds: 0 } }, node("a"), { id: "m", type: "MCP", config: { server_id: CONNECTOR, tool: "t", arguments: { x: "$.input.nope" } } });
    const pointers = faultsOf(dsl).map((f) => f.pointer);
    expect(pointers).toEqual(["/nodes/0/next", "/nodes/1/config/seconds", "/nodes/1/id", "/nodes/2/id", "/nodes/3/config/arguments/x"]);
  });

  it("checks the graph only once every node is well formed (no cycle reported through a broken node)", () => {
    const faults = faultsOf(flat(node("a", { next: "b" }), node("b", { next: "a", config: { seconds: -1 } })));
    expect(faults.map((f) => f.pointer)).toEqual(["/nodes/1/config/seconds"]);
  });
});

describe("workflow DSL: JSON Schema", () => {
  it("is the copy docs/factory-workflow-dsl.schema.json publishes (regenerate it when the DSL changes)", () => {
    expect(dslJsonSchema()).toEqual(published);
  });

  it("is draft 2020-12, and a schema validator agrees with the checker on shape", () => {
    const schema = dslJsonSchema();
    expect(schema).toMatchObject({ $schema: "https://json-schema.org/draft/2020-12/schema", $id: expect.stringContaining("workflow-dsl"), type: "object", required: ["name", "nodes"] });
    const validator = new Validator(schema as never, "2020-12", false);
    expect(validator.validate(sampleDsl()).valid).toBe(true);
    expect(validator.validate(everyNodeType()).valid).toBe(true);
    for (const bad of [flat({ id: "a", type: "LOOP", config: {} }), flat({ id: "a", type: "WAIT", config: { seconds: 1, minutes: 2 } }), { name: "x", nodes: [] }]) {
      expect(validator.validate(bad).valid).toBe(false);
      expect(faultsOf(bad).length).toBeGreaterThan(0);
    }
  });
});

describe("workflow DSL: digest, steps, input", () => {
  it("digests the canonical JSON: key order and number spelling do not change it, content does", async () => {
    const dsl = sampleDsl();
    const reversed = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reversed) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)])) : v;
    const reordered = reversed(dsl);
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(dsl));
    const respelled = JSON.parse(JSON.stringify(dsl).replace('"timeout_seconds":30', '"timeout_seconds":30.0'));
    const digest = await dslDigest(dsl);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(await dslDigest(reordered)).toBe(digest);
    expect(await dslDigest(respelled)).toBe(digest);
    expect(await dslDigest(changed(dsl, (d) => (d.nodes[0].timeout_seconds = 31)))).not.toBe(digest);
  });

  it("normalises nodes into steps: array order, timeouts and complete retry policies with defaults", () => {
    const result = checkDefinition(sampleDsl());
    if (!result.ok) throw new Error(JSON.stringify(result.faults));
    const steps = normalisedSteps(result.definition, 4);
    expect(steps.map((s) => [s.stepOrder, s.nodeId, s.nodeType, s.timeoutSeconds])).toEqual([
      [0, "data_collect", "DATA", 30],
      [1, "defect_judgment", "JUDGMENT", 60],
      [2, "route", "SWITCH", 60],
      [3, "approve", "APPROVAL", 3600],
      [4, "notify", "ACTION", 60],
    ]);
    expect(steps[0]!.retryPolicy).toEqual({ max_attempts: 5, backoff_strategy: "exponential", initial_delay_ms: 1000, max_delay_ms: 30000, retry_on_errors: ["TIMEOUT"] });
    expect(steps[1]!.retryPolicy).toEqual({ max_attempts: 4, backoff_strategy: "exponential", initial_delay_ms: 1000, max_delay_ms: 30000, retry_on_errors: ["TIMEOUT", "NETWORK_ERROR", "RATE_LIMIT"] });
    expect(steps[3]!.retryPolicy.max_attempts).toBe(1);
  });

  it("checks an execution's input against variables.input, filling defaults", () => {
    const result = checkDefinition(changed(sampleDsl(), (d) => (d.variables.input.batch = { type: "integer", default: 7 })));
    if (!result.ok) throw new Error(JSON.stringify(result.faults));
    expect(checkInput(result.definition, { line_code: "L1", shift: "day" })).toEqual({ ok: true, input: { line_code: "L1", shift: "day", batch: 7 } });
    const bad = checkInput(result.definition, { shift: "noon", batch: 1.5, extra: true });
    expect(bad.ok ? [] : bad.faults.map((f) => f.pointer).sort()).toEqual(["/batch", "/extra", "/line_code", "/shift"]);
  });

  it("evaluates a condition over the runtime variables (global read as globals), refusing a non-boolean", () => {
    const scope = { inputs: new Set(["shift"]), globals: new Set(["limit"]), nodes: new Set(["judge"]) };
    const vars = { input: { shift: "night" }, global: { limit: 0.5 }, nodes: { judge: { result: { confidence: 0.7 }, status: "COMPLETED" } } };
    const yes = compileCondition(`input.shift == "night" && nodes.judge.result.confidence > globals.limit`, scope);
    const num = compileCondition("globals.limit + 1", scope);
    if (!yes.ok || !num.ok) throw new Error("did not compile");
    expect(evaluateCondition(yes.program, vars)).toEqual({ ok: true, value: true });
    expect(evaluateCondition(yes.program, { ...vars, global: { limit: 0.9 } })).toEqual({ ok: true, value: false });
    expect(evaluateCondition(num.program, vars)).toMatchObject({ ok: false, message: expect.stringContaining("not a boolean") });
  });

  it("reads paths in the documented syntax", () => {
    expect(pathSegments("$.nodes.data_collect.result.rows[0].qty")).toEqual(["nodes", "data_collect", "result", "rows", 0, "qty"]);
    expect(pathSegments("$.input.line-code")).toEqual(["input", "line-code"]);
    for (const bad of ["$", "$.", "$.a..b", "$.a[x]", "$.a.b c", "input.x"]) expect(pathSegments(bad)).toBeNull();
  });
});
