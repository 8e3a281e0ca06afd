import type { z } from "zod";
import { canonicalize, sha256Hex } from "../platform/canonical-json";
import { compile, run, type Program } from "./rhai";
import type { Expr } from "./rhai/ast";
import { walk } from "./rhai/walk";
import { parsePath } from "./workflow-paths";
import {
  DslEnvelope,
  VARIABLE_TYPES,
  WorkflowNode as NodeSchema,
  type NodeType,
  type RetryPolicy,
  type Variable,
  type WorkflowDefinition,
  type WorkflowNode,
} from "./workflow-dsl-schema";

/**
 * A workflow definition checked beyond its shape (workflow-dsl-schema.ts): the graph its nodes
 * make, the names its paths and conditions use, and what it is normalised into. Every fault names
 * its JSON pointer inside the definition; the routes prefix it with the body member (`/dsl`).
 */

export type { NodeType, WorkflowDefinition, WorkflowNode } from "./workflow-dsl-schema";

export interface DslFault {
  /** RFC 6901 pointer inside the definition ("" is the definition itself). */
  pointer: string;
  message: string;
}

export type DslCheck = { ok: true; definition: WorkflowDefinition } | { ok: false; faults: DslFault[] };

/** Node types that steer the flow rather than do work: never inside a PARALLEL branch, never retried by default. */
const CONTROL_TYPES: ReadonlySet<NodeType> = new Set(["SWITCH", "PARALLEL", "COMPENSATION", "WAIT", "APPROVAL"]);
/** Node types a PARALLEL branch may not hold: they decide where the flow goes next. */
const NOT_IN_BRANCH: ReadonlySet<NodeType> = new Set(["SWITCH", "PARALLEL", "COMPENSATION"]);
/**
 * What a SWITCH condition sees: the input, the global variables and the nodes' results.
 * `global` is a reserved word in Rhai, so conditions read the global variables as `globals`.
 */
const CONDITION_VARIABLES = ["input", "globals", "nodes"] as const;

const escapeToken = (key: string | number) => String(key).replace(/~/g, "~0").replace(/\//g, "~1");
const pointerOf = (segments: readonly PropertyKey[]) => segments.map((s) => `/${escapeToken(String(s))}`).join("");
/** A bad record key is reported with what the key must be, not zod's "Invalid key in record". */
const messageOf = (i: z.core.$ZodIssue) => (i.code === "invalid_key" ? (i.issues[0]?.message ?? i.message) : i.message);
const issuesOf = (error: z.ZodError, at: readonly PropertyKey[]): DslFault[] =>
  error.issues.map((i) => ({ pointer: pointerOf([...at, ...i.path]), message: messageOf(i) }));

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Whether a JSON value has a variable type. */
export function hasVariableType(value: unknown, type: (typeof VARIABLE_TYPES)[number]): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "integer":
      return typeof value === "number" && Number.isSafeInteger(value);
    case "boolean":
      return typeof value === "boolean";
    case "object":
      return isObject(value);
    case "array":
      return Array.isArray(value);
  }
}

const sameJson = (a: unknown, b: unknown) => canonicalize(a) === canonicalize(b);

function variableFaults(variables: Record<string, Variable> | undefined, at: string, input: boolean): DslFault[] {
  const faults: DslFault[] = [];
  for (const [name, v] of Object.entries(variables ?? {})) {
    const here = `${at}/${escapeToken(name)}`;
    v.enum?.forEach((e, i) => {
      if (!hasVariableType(e, v.type)) faults.push({ pointer: `${here}/enum/${i}`, message: `must be of the variable's type, ${v.type}` });
    });
    if (v.default === undefined) continue;
    if (input && v.required) faults.push({ pointer: `${here}/default`, message: "a required input takes no default: the caller must give it" });
    else if (!hasVariableType(v.default, v.type)) faults.push({ pointer: `${here}/default`, message: `must be of the variable's type, ${v.type}` });
    else if (v.enum && !v.enum.some((e) => sameJson(e, v.default))) faults.push({ pointer: `${here}/default`, message: "must be one of the variable's enum" });
  }
  return faults;
}

/** Names a path or a condition may use. */
interface Scope {
  inputs: ReadonlySet<string>;
  globals: ReadonlySet<string>;
  nodes: ReadonlySet<string>;
}

/** What is wrong with a `$.` path in node `self`'s config, or null. */
function pathFault(path: string, scope: Scope, self: string): string | null {
  const segments = parsePath(path);
  if (!segments) return `is not a path: $.input.<name>, $.global.<name> or $.nodes.<id>.result|status, then .key or [index] segments ($$. starts literal text)`;
  const [root, name, part] = segments;
  if (root !== "input" && root !== "global" && root !== "nodes") return `starts with $.${root}: a path reads $.input, $.global or $.nodes`;
  if (typeof name !== "string") return `must name ${root === "nodes" ? "a node" : "a variable"} after $.${root}`;
  if (root === "input" && !scope.inputs.has(name)) return `reads input '${name}', which variables.input does not declare`;
  if (root === "global" && !scope.globals.has(name)) return `reads global '${name}', which variables.global does not declare`;
  if (root === "nodes") {
    if (!scope.nodes.has(name)) return `reads node '${name}', which the workflow does not have`;
    if (name === self) return "a node cannot read its own result";
    if (part !== undefined && part !== "result" && part !== "status") return `reads $.nodes.${name}.${part}: a node has result and status`;
  }
  return null;
}

/** Faults of every `$.` path anywhere in a node's config. */
function configPathFaults(config: unknown, at: string, scope: Scope, self: string): DslFault[] {
  const faults: DslFault[] = [];
  const stack: { value: unknown; pointer: string }[] = [{ value: config, pointer: at }];
  while (stack.length) {
    const { value, pointer } = stack.pop()!;
    if (typeof value === "string") {
      if (value.startsWith("$.")) {
        const fault = pathFault(value, scope, self);
        if (fault) faults.push({ pointer, message: fault });
      }
    } else if (Array.isArray(value)) value.forEach((v, i) => stack.push({ value: v, pointer: `${pointer}/${i}` }));
    else if (isObject(value)) for (const [k, v] of Object.entries(value)) stack.push({ value: v, pointer: `${pointer}/${escapeToken(k)}` });
  }
  return faults.sort((a, b) => (a.pointer < b.pointer ? -1 : 1));
}

/**
 * A compiled SWITCH condition, or why it cannot be one. With `scope` (the validator) every name it
 * reads must be declared; without (the SWITCH node at run time, over a definition that passed the
 * validator) only the names a condition may use at all are checked.
 */
export function compileCondition(when: string, scope?: Scope): { ok: true; program: Program } | { ok: false; message: string } {
  const compiled = compile(when);
  if (!compiled.ok && /\bglobal\b/.test(when)) return { ok: false, message: "uses global, a reserved word in Rhai: a condition reads the global variables as globals (globals.threshold)" };
  if (!compiled.ok) return { ok: false, message: `does not compile as Rhai: ${compiled.error.message} (line ${compiled.error.line}, column ${compiled.error.column})` };
  const program = compiled.program;
  if (program.fns.size) return { ok: false, message: "must be an expression over input, globals and nodes, without fn definitions" };
  const declared = new Set<string>(CONDITION_VARIABLES);
  walk(program.main, (e) => {
    if (e.k === "let") declared.add(e.name);
    if (e.k === "for") {
      declared.add(e.name);
      if (e.counter) declared.add(e.counter);
    }
  });
  let fault: string | null = null;
  walk(program.main, (e: Expr) => {
    if (fault) return;
    if (e.k === "var" && !declared.has(e.name)) fault = `uses '${e.name}', which is not defined: a condition sees input, globals and nodes`;
    if (scope && e.k === "prop" && e.obj.k === "var") {
      const { name: root } = e.obj;
      if (root === "input" && !scope.inputs.has(e.name)) fault = `reads input.${e.name}, which variables.input does not declare`;
      if (root === "globals" && !scope.globals.has(e.name)) fault = `reads globals.${e.name}, which variables.global does not declare`;
      if (root === "nodes" && !scope.nodes.has(e.name)) fault = `reads nodes.${e.name}, which the workflow does not have`;
    }
  });
  return fault ? { ok: false, message: fault } : { ok: true, program };
}

/** The runtime variables as a condition sees them (CONDITION_VARIABLES). */
export const conditionArgs = (vars: { input: unknown; global: unknown; nodes: unknown }) => ({ input: vars.input, globals: vars.global, nodes: vars.nodes });

/** Runs a compiled SWITCH condition over the runtime variables: its boolean, or why it has none. */
export function evaluateCondition(program: Program, vars: { input: unknown; global: unknown; nodes: unknown }): { ok: true; value: boolean } | { ok: false; message: string } {
  const result = run(program, null, conditionArgs(vars));
  if (!result.ok) return { ok: false, message: result.error.message };
  if (typeof result.value !== "boolean") return { ok: false, message: `the condition gave ${JSON.stringify(result.value)}, not a boolean` };
  return { ok: true, value: result.value };
}

/** Where the flow goes from each node (docs/factory-workflows.md, "DSL"): what the engine walks. */
export interface Flow {
  /** The first node in array order. */
  start: string;
  /** The node after each node that is neither a SWITCH nor a branch member; null ends the workflow. */
  next: Map<string, string | null>;
  /** Each PARALLEL branch member: its PARALLEL node and branch. */
  members: Map<string, { parallel: string; branch: string }>;
}

/** The flow of a checked definition. */
export function flowOf(definition: WorkflowDefinition): Flow {
  const members = new Map<string, { parallel: string; branch: string }>();
  for (const node of definition.nodes) {
    if (node.type !== "PARALLEL") continue;
    for (const branch of node.config.branches) for (const id of branch.nodes) if (!members.has(id)) members.set(id, { parallel: node.id, branch: branch.name });
  }
  const next = new Map<string, string | null>();
  const nodes = definition.nodes;
  nodes.forEach((node, i) => {
    if (node.type === "SWITCH" || members.has(node.id)) return;
    if (node.next !== undefined) return void next.set(node.id, node.next);
    const following = nodes.slice(i + 1).find((n) => !members.has(n.id));
    next.set(node.id, following?.id ?? null);
  });
  return { start: nodes[0]!.id, next, members };
}

interface Edge {
  to: string;
  /** Where the edge is written (for an implicit next: the node itself). */
  pointer: string;
}

/** Each node's successors on the main path, with where each edge is written. */
function edgesOf(definition: WorkflowDefinition, flow: Flow, index: Map<string, number>): Map<string, Edge[]> {
  const edges = new Map<string, Edge[]>();
  for (const node of definition.nodes) {
    const at = `/nodes/${index.get(node.id)}`;
    const out: Edge[] = [];
    if (node.type === "SWITCH") {
      node.config.cases.forEach((c, j) => out.push({ to: c.next, pointer: `${at}/config/cases/${j}/next` }));
      if (node.config.default) out.push({ to: node.config.default, pointer: `${at}/config/default` });
    } else {
      const to = flow.next.get(node.id);
      if (to) out.push({ to, pointer: node.next === undefined ? at : `${at}/next` });
    }
    edges.set(node.id, out);
  }
  return edges;
}

/** The first cycle met, as the edge closing it and the ids around it. */
function findCycle(ids: readonly string[], edges: Map<string, Edge[]>): { edge: Edge; path: string[] } | null {
  const state = new Map<string, "open" | "done">();
  for (const root of ids) {
    if (state.has(root)) continue;
    const stack: { id: string; i: number }[] = [{ id: root, i: 0 }];
    state.set(root, "open");
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const out = edges.get(top.id) ?? [];
      if (top.i >= out.length) {
        state.set(top.id, "done");
        stack.pop();
        continue;
      }
      const edge = out[top.i++]!;
      const seen = state.get(edge.to);
      if (seen === "open") {
        const from = stack.findIndex((s) => s.id === edge.to);
        return { edge, path: [...stack.slice(from).map((s) => s.id), edge.to] };
      }
      if (!seen && edges.has(edge.to)) {
        state.set(edge.to, "open");
        stack.push({ id: edge.to, i: 0 });
      }
    }
  }
  return null;
}

/** The nodes reachable from `from` along main-path edges and into PARALLEL branches. */
function reachableFrom(from: string, edges: Map<string, Edge[]>, branchNodes: Map<string, string[]>): Set<string> {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const e of edges.get(id) ?? []) stack.push(e.to);
    for (const m of branchNodes.get(id) ?? []) stack.push(m);
  }
  return seen;
}

/** Faults of the graph of a definition whose every node is well formed. */
function graphFaults(definition: WorkflowDefinition, index: Map<string, number>): DslFault[] {
  const faults: DslFault[] = [];
  const nodes = definition.nodes;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const at = (id: string) => `/nodes/${index.get(id)}`;

  // PARALLEL branches: each member in one branch once, a working node, off the main path, without next.
  const memberAt = new Map<string, string>();
  const branchNodes = new Map<string, string[]>();
  for (const node of nodes) {
    if (node.type !== "PARALLEL") continue;
    const names = new Set<string>();
    branchNodes.set(node.id, []);
    node.config.branches.forEach((branch, b) => {
      const here = `${at(node.id)}/config/branches/${b}`;
      if (names.has(branch.name)) faults.push({ pointer: `${here}/name`, message: `branch '${branch.name}' is named twice in this PARALLEL` });
      names.add(branch.name);
      branch.nodes.forEach((id, k) => {
        const pointer = `${here}/nodes/${k}`;
        const member = byId.get(id);
        if (!member) return;
        if (memberAt.has(id)) return void faults.push({ pointer, message: `node '${id}' is already a branch member at ${memberAt.get(id)}: a node runs in one branch` });
        memberAt.set(id, pointer);
        branchNodes.get(node.id)!.push(id);
        if (id === node.id) faults.push({ pointer, message: "a PARALLEL cannot be a member of its own branch" });
        else if (NOT_IN_BRANCH.has(member.type)) faults.push({ pointer, message: `a ${member.type} node cannot run inside a branch: branches hold working nodes` });
        if (index.get(id) === 0) faults.push({ pointer, message: `node '${id}' is the start node (first in the array), so it is on the main path` });
        if (member.next !== undefined) faults.push({ pointer: `${at(id)}/next`, message: `node '${id}' runs in branch '${branch.name}' of '${node.id}': a branch member has no next` });
      });
    });
  }
  const flow = flowOf(definition);
  const edges = edgesOf(definition, flow, index);
  for (const [, out] of edges) {
    for (const e of out) {
      if (memberAt.has(e.to)) {
        faults.push({ pointer: e.pointer, message: `names '${e.to}', a branch member (${memberAt.get(e.to)}): it runs only inside its branch` });
      }
    }
  }
  for (const node of nodes) if (node.type === "SWITCH" && node.next !== undefined) faults.push({ pointer: `${at(node.id)}/next`, message: "a SWITCH continues through its cases and default, not next" });
  if (faults.length) return faults;

  const ids = nodes.filter((n) => !memberAt.has(n.id)).map((n) => n.id);
  const cycle = findCycle(ids, edges);
  if (cycle) return [{ pointer: cycle.edge.pointer, message: `closes a cycle: ${cycle.path.join(" → ")} (a workflow is acyclic)` }];

  const reached = reachableFrom(flow.start, edges, branchNodes);
  for (const node of nodes) if (!reached.has(node.id)) faults.push({ pointer: at(node.id), message: `node '${node.id}' is never reached from the start node '${flow.start}'` });

  // A compensation undoes something that ran before it on its path.
  for (const node of nodes) {
    if (node.type !== "COMPENSATION") continue;
    const target = node.config.target;
    const owner = memberAt.has(target) ? nodes.find((p) => p.type === "PARALLEL" && branchNodes.get(p.id)!.includes(target))!.id : target;
    if (target === node.id) faults.push({ pointer: `${at(node.id)}/config/target`, message: "a COMPENSATION cannot undo itself" });
    else if (!reachableFrom(owner, edges, new Map()).has(node.id)) {
      faults.push({ pointer: `${at(node.id)}/config/target`, message: `must name a node that runs before this COMPENSATION on its path; '${target}' does not` });
    }
  }
  return faults;
}

/** Every reference of one well-formed node to another (next, cases, default, branch members, compensation target). */
function references(node: WorkflowNode, at: string): { id: string; pointer: string }[] {
  const refs: { id: string; pointer: string }[] = [];
  if (typeof node.next === "string") refs.push({ id: node.next, pointer: `${at}/next` });
  if (node.type === "SWITCH") {
    node.config.cases.forEach((c, j) => refs.push({ id: c.next, pointer: `${at}/config/cases/${j}/next` }));
    if (node.config.default) refs.push({ id: node.config.default, pointer: `${at}/config/default` });
  }
  if (node.type === "PARALLEL") node.config.branches.forEach((b, i) => b.nodes.forEach((id, k) => refs.push({ id, pointer: `${at}/config/branches/${i}/nodes/${k}` })));
  if (node.type === "COMPENSATION") refs.push({ id: node.config.target, pointer: `${at}/config/target` });
  return refs;
}

/** Nodes semantics beyond their shape: configs a schema cannot say. */
function nodeRuleFaults(node: WorkflowNode, at: string): DslFault[] {
  const faults: DslFault[] = [];
  const policy = node.retry_policy;
  if (policy?.initial_delay_ms !== undefined && policy.max_delay_ms !== undefined && policy.max_delay_ms < policy.initial_delay_ms) {
    faults.push({ pointer: `${at}/retry_policy/max_delay_ms`, message: "must not be below initial_delay_ms" });
  }
  if (node.type === "BI") {
    const names = new Set<string>();
    node.config.aggregates.forEach((a, i) => {
      const here = `${at}/config/aggregates/${i}`;
      if (names.has(a.name)) faults.push({ pointer: `${here}/name`, message: `aggregate '${a.name}' is named twice` });
      names.add(a.name);
    });
  }
  if (node.type === "APPROVAL" && node.timeout_seconds !== undefined) {
    faults.push({ pointer: `${at}/timeout_seconds`, message: "an APPROVAL waits for config.timeout_seconds; it takes no step timeout" });
  }
  return faults;
}

/**
 * Checks a definition: its shape (every node on its own, so one bad node does not hide the
 * others), unique node ids, variables, every reference and path, SWITCH conditions, and, once
 * every node is well formed, the graph (branches, cycles, reachability, compensation targets).
 * Faults are sorted by pointer.
 */
export function checkDefinition(raw: unknown): DslCheck {
  const envelope = DslEnvelope.safeParse(raw);
  const faults: DslFault[] = envelope.success ? [] : issuesOf(envelope.error, []);
  const rawNodes = isObject(raw) && Array.isArray(raw.nodes) ? raw.nodes : null;
  if (!rawNodes) return { ok: false, faults };

  const parsed = rawNodes.map((n, i) => {
    const result = NodeSchema.safeParse(n);
    if (!result.success) faults.push(...issuesOf(result.error, ["nodes", i]));
    return result.success ? (result.data as WorkflowNode) : null;
  });
  const index = new Map<string, number>();
  rawNodes.forEach((n, i) => {
    const id = isObject(n) && typeof n.id === "string" ? n.id : null;
    if (id === null) return;
    if (index.has(id)) faults.push({ pointer: `/nodes/${i}/id`, message: `node id '${id}' is already used by /nodes/${index.get(id)}` });
    else index.set(id, i);
  });

  const variables = envelope.success ? envelope.data.variables : undefined;
  if (variables) faults.push(...variableFaults(variables.input, "/variables/input", true), ...variableFaults(variables.global, "/variables/global", false));
  const rawVariables = isObject(raw) && isObject(raw.variables) ? raw.variables : {};
  const namesOf = (v: unknown) => new Set(isObject(v) ? Object.keys(v) : []);
  const scope: Scope = { inputs: namesOf(rawVariables.input), globals: namesOf(rawVariables.global), nodes: new Set(index.keys()) };

  parsed.forEach((node, i) => {
    if (!node) return;
    const at = `/nodes/${i}`;
    for (const ref of references(node, at)) if (!index.has(ref.id)) faults.push({ pointer: ref.pointer, message: `names node '${ref.id}', which the workflow does not have` });
    if (node.type === "SWITCH") {
      node.config.cases.forEach((c, j) => {
        const condition = compileCondition(c.when, scope);
        if (!condition.ok) faults.push({ pointer: `${at}/config/cases/${j}/when`, message: condition.message });
      });
    }
    faults.push(...nodeRuleFaults(node, at), ...configPathFaults(node.config, `${at}/config`, scope, node.id));
  });

  if (!faults.length && envelope.success) {
    const definition = { ...envelope.data, nodes: parsed as WorkflowNode[] };
    faults.push(...graphFaults(definition, index));
    if (!faults.length) return { ok: true, definition };
  }
  return { ok: false, faults: faults.sort((a, b) => (a.pointer < b.pointer ? -1 : a.pointer > b.pointer ? 1 : 0)) };
}

/** dsl_digest: SHA-256 (hex) of the definition's RFC 8785 canonical JSON, so key order and number spelling do not change it. */
export const dslDigest = (definition: unknown): Promise<string> => sha256Hex(canonicalize(definition));

/** A node's retry policy with every member given (§3.2). */
export type FullRetryPolicy = Required<z.infer<typeof RetryPolicy>>;

/** What a workflow_steps row holds for a node. */
export interface NormalisedStep {
  stepOrder: number;
  nodeId: string;
  nodeType: NodeType;
  config: Record<string, unknown>;
  timeoutSeconds: number;
  retryPolicy: FullRetryPolicy;
}

/** The DDL's default step timeout. */
export const DEFAULT_STEP_TIMEOUT_SECONDS = 60;
export const DEFAULT_RETRY_ON: FullRetryPolicy["retry_on_errors"] = ["TIMEOUT", "NETWORK_ERROR", "RATE_LIMIT"];

/** Whether a node's max_attempts comes from its workflow's max_retry (it names none and does work). */
export const inheritsAttempts = (node: WorkflowNode) => node.retry_policy?.max_attempts === undefined && !CONTROL_TYPES.has(node.type);

/**
 * A node's retry policy, every member given: what the node says, else max_attempts = the
 * workflow's max_retry (at least 1; control nodes 1), exponential backoff from 1 s to 30 s,
 * retrying TIMEOUT, NETWORK_ERROR and RATE_LIMIT (§3.2's example).
 */
export function retryPolicyOf(node: WorkflowNode, maxRetry: number): FullRetryPolicy {
  const p = node.retry_policy ?? {};
  const attempts = inheritsAttempts(node) ? Math.min(10, Math.max(1, maxRetry)) : 1;
  return {
    max_attempts: p.max_attempts ?? attempts,
    backoff_strategy: p.backoff_strategy ?? "exponential",
    initial_delay_ms: p.initial_delay_ms ?? 1000,
    max_delay_ms: p.max_delay_ms ?? Math.max(30_000, p.initial_delay_ms ?? 0),
    retry_on_errors: p.retry_on_errors ?? DEFAULT_RETRY_ON,
  };
}

/**
 * The nodes as workflow_steps rows: step_order is the node's index in the array (0 = the start),
 * timeout_seconds the node's (an APPROVAL's is its config.timeout_seconds, a WAIT's its seconds
 * when given; else 60), retry_policy complete (retryPolicyOf).
 */
export function normalisedSteps(definition: WorkflowDefinition, maxRetry: number): NormalisedStep[] {
  return definition.nodes.map((node, i) => ({
    stepOrder: i,
    nodeId: node.id,
    nodeType: node.type,
    config: node.config as Record<string, unknown>,
    timeoutSeconds:
      node.type === "APPROVAL"
        ? node.config.timeout_seconds
        : (node.timeout_seconds ?? (node.type === "WAIT" && "seconds" in node.config ? node.config.seconds : DEFAULT_STEP_TIMEOUT_SECONDS)),
    retryPolicy: retryPolicyOf(node, maxRetry),
  }));
}

/**
 * An execution's input checked against variables.input: required ones present, each of its
 * declared type and enum, none undeclared; defaults filled in. Faults point into the input.
 */
export function checkInput(definition: WorkflowDefinition, input: Record<string, unknown>): { ok: true; input: Record<string, unknown> } | { ok: false; faults: DslFault[] } {
  const declared = definition.variables?.input ?? {};
  const faults: DslFault[] = [];
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(input)) if (!(key in declared)) faults.push({ pointer: `/${escapeToken(key)}`, message: "is not an input the workflow declares" });
  for (const [name, v] of Object.entries(declared)) {
    const pointer = `/${escapeToken(name)}`;
    const value = input[name];
    if (value === undefined || value === null) {
      if (v.required) faults.push({ pointer, message: `is required (${v.type})` });
      else if (v.default !== undefined) out[name] = v.default;
      continue;
    }
    if (!hasVariableType(value, v.type)) faults.push({ pointer, message: `must be of type ${v.type}` });
    else if (v.enum && !v.enum.some((e) => sameJson(e, value))) faults.push({ pointer, message: `must be one of ${v.enum.map((e) => JSON.stringify(e)).join(", ")}` });
    else out[name] = value;
  }
  return faults.length ? { ok: false, faults } : { ok: true, input: out };
}

/** The global variables' starting values: each default, else null. */
export const globalsOf = (definition: WorkflowDefinition): Record<string, unknown> =>
  Object.fromEntries(Object.entries(definition.variables?.global ?? {}).map(([name, v]) => [name, v.default ?? null]));
