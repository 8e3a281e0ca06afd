import { z } from "zod";
import { namesCredential } from "./public-headers";
import { NODE_TYPES } from "./schema";

/**
 * The workflow DSL v1 (docs/factory-workflows.md, "DSL") as zod schemas:
 * the shape of a definition. One source for both the validator (workflow-dsl.ts parses with these
 * and then checks the graph) and the JSON Schema published in /openapi.json and at
 * GET /workflows/dsl-schema (z.toJSONSchema, draft 2020-12), so the two cannot disagree.
 * No transforms and no defaults here: what a client sends is stored as sent (its digest is over
 * that); defaults are applied when nodes are normalised into workflow_steps.
 */

export { NODE_TYPES };
export type NodeType = (typeof NODE_TYPES)[number];

/** What a node handler throws (NodeError.code) and what retry_on_errors may name. */
export const ERROR_CODES = ["TIMEOUT", "NETWORK_ERROR", "RATE_LIMIT", "UPSTREAM_ERROR", "VALIDATION_ERROR", "NOT_FOUND", "FORBIDDEN", "CIRCUIT_OPEN", "REJECTED", "INTERNAL"] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const VARIABLE_TYPES = ["string", "number", "integer", "boolean", "object", "array"] as const;

const DAY = 86_400;
/** The longest a step, a wait or an approval may take: 30 days (an approval over a holiday). */
export const MAX_WAIT_SECONDS = 30 * DAY;
export const MAX_NODES = 200;

export const NodeId = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, "must be a node id: a lowercase letter, then up to 62 lowercase letters, digits or _");
const Name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "must be a name: a letter or _, then up to 63 letters, digits or _");
const Uuid = z.uuid();
const Mapping = z.record(z.string().max(128), z.unknown());
const Text = (max: number) => z.string().min(1).max(max);
const Seconds = (max: number) => z.number().int().min(1).max(max);
/** An ISO 8601 instant with a Z or an offset. */
const Instant = z.iso.datetime({ offset: true });

export const Variable = z
  .object({
    type: z.enum(VARIABLE_TYPES),
    required: z.boolean().optional(),
    default: z.unknown().optional(),
    enum: z.array(z.unknown()).min(1).max(100).optional(),
    description: z.string().max(500).optional(),
  })
  .strict();
export type Variable = z.infer<typeof Variable>;

export const RetryPolicy = z
  .object({
    max_attempts: z.number().int().min(1).max(10).optional(),
    backoff_strategy: z.enum(["exponential", "linear", "fixed"]).optional(),
    initial_delay_ms: z.number().int().min(0).max(600_000).optional(),
    max_delay_ms: z.number().int().min(0).max(3_600_000).optional(),
    retry_on_errors: z.array(z.enum(ERROR_CODES)).max(ERROR_CODES.length).optional(),
  })
  .strict();

// Node configs, one per type (the contract's "Node configs (v1)").

/**
 * A DATA parameter: a scalar the connector binds (never spliced into SQL), or a path to one. The
 * DATA handler checks the resolved values with this same schema.
 */
export const ParamValue = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()], { error: "must be a string, number, boolean or null (or a path to one)" });
const DataConfig = z
  .object({
    connector_id: Uuid,
    query: Text(20_000),
    params: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, "must be a placeholder name"), ParamValue).refine((p) => Object.keys(p).length <= 100, "at most 100 parameters").optional(),
    max_rows: z.number().int().min(1).max(10_000).optional(),
  })
  .strict();

export const BI_OPS = ["count", "sum", "avg", "min", "max", "p50", "p95", "p99", "rate", "distinct_count"] as const;
const Aggregate = z
  .object({ name: Name, op: z.enum(BI_OPS), field: Text(128).optional(), where: z.record(z.string().max(128), z.unknown()).optional() })
  .strict()
  .refine((a) => a.op === "count" || a.op === "rate" || a.field !== undefined, { path: ["field"], message: "this op needs the field it aggregates" })
  .refine((a) => a.op !== "rate" || a.where !== undefined, { path: ["where"], message: "rate is the share of rows matching where: give where" });
const BiConfig = z
  .object({ source: z.string().startsWith("$.", "must be a path ($.…) to an array of objects"), group_by: z.array(Text(128)).max(10).optional(), aggregates: z.array(Aggregate).min(1).max(50) })
  .strict();

const JudgmentConfig = z.object({ ruleset_id: Uuid, method: z.enum(["rule_only", "llm_only", "hybrid"]).optional(), input_mapping: Mapping }).strict();

const McpConfig = z.object({ server_id: Uuid, tool: Text(128), arguments: Mapping.optional() }).strict();

/** The hosts an ACTION may call over plain http (development and tests); anything else is https. */
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);
/** Headers the ACTION sets itself: a config may not replace them. */
export const RESERVED_HEADERS = new Set(["webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "host", "content-length"]);
const ActionConfig = z
  .object({
    url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .refine((u) => u.startsWith("https:") || LOOPBACK.has(new URL(u).hostname), "must be https (http only to localhost, 127.0.0.1 or [::1])"),
    method: z.enum(["POST", "PUT", "PATCH"]).optional(),
    headers: z
      .record(
        z
          .string()
          .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, "must be an HTTP header name")
          .refine((h) => !RESERVED_HEADERS.has(h.toLowerCase()), "is set by the engine (the Standard Webhooks signature and the body)")
          // A definition is shown to every workflow:read holder; the receiver authenticates the call by its signature.
          .refine((h) => !namesCredential(h), "carries a credential, and a definition is shown to every workflow:read holder: an ACTION is authenticated by its Standard Webhooks signature (FACTORY_ACTION_SIGNING_SECRET)"),
        z.string().max(4096),
      )
      .optional(),
    body: z.unknown().optional(),
    kind: z.enum(["webhook", "notification"]).optional(),
  })
  .strict();

const ApprovalConfig = z
  .object({
    message: z.string().max(2000).optional(),
    approvers: z.object({ roles: z.array(z.enum(["admin", "approver", "operator", "viewer"])).min(1).optional(), user_ids: z.array(Uuid).min(1).max(100).optional() }).strict().optional(),
    timeout_seconds: Seconds(MAX_WAIT_SECONDS),
    on_timeout: z.enum(["reject", "approve"]).optional(),
    on_reject: z.enum(["fail", "continue"]).optional(),
  })
  .strict();

const WaitConfig = z.union([z.object({ seconds: Seconds(MAX_WAIT_SECONDS) }).strict(), z.object({ until: Instant }).strict()]);

const SwitchConfig = z
  .object({ cases: z.array(z.object({ when: Text(2000), next: NodeId }).strict()).min(1).max(50), default: NodeId.optional() })
  .strict();

const ParallelConfig = z
  .object({ branches: z.array(z.object({ name: Name, nodes: z.array(NodeId).min(1).max(50) }).strict()).min(1).max(20), join: z.literal("all").optional() })
  .strict();

/** canary_pct is part 1's share (0.1 = 10%), as POST /rules/rulesets/{id}/deploy takes it. */
const DeployConfig = z
  .object({ ruleset_id: Uuid, version: z.number().int().min(1).max(2_147_483_647), canary_pct: z.number().gt(0).max(1).optional(), changelog: z.string().trim().min(1).max(10_000).optional() })
  .strict();
const RollbackConfig = z.object({ ruleset_id: Uuid, to_version: z.number().int().min(1).max(2_147_483_647).optional() }).strict();
const SimulateConfig = z
  .object({ ruleset_id: Uuid, version: z.number().int().min(1).max(2_147_483_647), sample: z.object({ limit: z.number().int().min(1).max(1000).optional(), since: Instant.optional() }).strict().optional() })
  .strict();

/** What a COMPENSATION node does to undo its target: one of these node types with its config. */
export const COMPENSATING_TYPES = ["ACTION", "MCP", "ROLLBACK", "DEPLOY"] as const satisfies readonly NodeType[];
const Undo = z.discriminatedUnion("type", [
  z.object({ type: z.literal("ACTION"), config: ActionConfig }).strict(),
  z.object({ type: z.literal("MCP"), config: McpConfig }).strict(),
  z.object({ type: z.literal("ROLLBACK"), config: RollbackConfig }).strict(),
  z.object({ type: z.literal("DEPLOY"), config: DeployConfig }).strict(),
]);
const CompensationConfig = z.object({ target: NodeId, do: Undo }).strict();

export const NODE_CONFIGS = {
  DATA: DataConfig,
  BI: BiConfig,
  JUDGMENT: JudgmentConfig,
  MCP: McpConfig,
  ACTION: ActionConfig,
  APPROVAL: ApprovalConfig,
  WAIT: WaitConfig,
  SWITCH: SwitchConfig,
  PARALLEL: ParallelConfig,
  COMPENSATION: CompensationConfig,
  DEPLOY: DeployConfig,
  ROLLBACK: RollbackConfig,
  SIMULATE: SimulateConfig,
} as const satisfies Record<NodeType, z.ZodType>;

const nodeOf = <T extends NodeType>(type: T) =>
  z
    .object({
      id: NodeId,
      type: z.literal(type),
      description: z.string().max(500).optional(),
      config: NODE_CONFIGS[type],
      next: NodeId.nullable().optional(),
      timeout_seconds: Seconds(DAY).optional(),
      retry_policy: RetryPolicy.optional(),
    })
    .strict();

export const WorkflowNode = z.discriminatedUnion(
  "type",
  NODE_TYPES.map(nodeOf) as unknown as [ReturnType<typeof nodeOf<NodeType>>, ...ReturnType<typeof nodeOf<NodeType>>[]],
);

type ConfigOf<T extends NodeType> = z.infer<(typeof NODE_CONFIGS)[T]>;
/** A node of a definition, its config typed by its type. */
export type WorkflowNode = {
  [T in NodeType]: { id: string; type: T; description?: string; config: ConfigOf<T>; next?: string | null; timeout_seconds?: number; retry_policy?: z.infer<typeof RetryPolicy> };
}[NodeType];
export type NodeConfig<T extends NodeType> = ConfigOf<T>;

/** Everything of a definition but its nodes, which are checked one by one (a bad node does not hide the others' faults). */
export const DslEnvelope = z
  .object({
    name: z.string().min(1).max(100),
    version: z.string().regex(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/, "must be a semantic version such as 1.0.0").optional(),
    description: z.string().max(2000).optional(),
    timeout_seconds: Seconds(MAX_WAIT_SECONDS).optional(),
    variables: z.object({ global: z.record(Name, Variable).optional(), input: z.record(Name, Variable).optional() }).strict().optional(),
    nodes: z.array(z.unknown()).min(1).max(MAX_NODES),
  })
  .strict();

/** The whole definition: what the JSON Schema publishes. */
export const WorkflowDefinition = DslEnvelope.extend({ nodes: z.array(WorkflowNode).min(1).max(MAX_NODES) });
export type WorkflowDefinition = Omit<z.infer<typeof DslEnvelope>, "nodes"> & { nodes: WorkflowNode[] };

export const DSL_SCHEMA_ID = "https://edge-api.dev/schemas/factory/workflow-dsl/v1.json";

let published: Record<string, unknown> | undefined;

/** The DSL as JSON Schema draft 2020-12 (built on first use: it costs nothing at startup). */
export function dslJsonSchema(): Record<string, unknown> {
  published ??= {
    ...z.toJSONSchema(WorkflowDefinition, { target: "draft-2020-12" }),
    $id: DSL_SCHEMA_ID,
    title: "Factory workflow DSL v1",
    description:
      "A workflow definition (docs/factory-workflows.md). Beyond this shape the API checks: node ids unique; every next, SWITCH case and default, PARALLEL branch member and COMPENSATION target names a node; branch members in one branch only, off the main path, without next; no cycle; every node reachable; SWITCH conditions compile as Rhai over input, globals (variables.global) and nodes; every $.input/$.global/$.nodes path names a declared variable or a node.",
  };
  return published;
}
