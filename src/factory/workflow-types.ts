/**
 * The workflow DSL v1 types the engine reads (/work contract "DSL v1"). The DSL helper's
 * workflow-dsl.ts owns the validator and JSON Schema; until it lands these are declared here and
 * the two are reconciled at merge. The engine trusts a stored definition: the validator checked it
 * (ids unique, references resolvable, no cycle) before workflow_steps were written.
 */

export const NODE_TYPES = ["DATA", "BI", "JUDGMENT", "MCP", "ACTION", "APPROVAL", "WAIT", "SWITCH", "PARALLEL", "COMPENSATION", "DEPLOY", "ROLLBACK", "SIMULATE"] as const;
export type NodeType = (typeof NODE_TYPES)[number];

export const VARIABLE_TYPES = ["string", "number", "integer", "boolean", "object", "array"] as const;

export interface VariableSpec {
  type: (typeof VARIABLE_TYPES)[number];
  required?: boolean;
  default?: unknown;
  enum?: unknown[];
  description?: string;
}

export interface RetryPolicy {
  max_attempts: number;
  backoff_strategy?: "exponential";
  initial_delay_ms?: number;
  max_delay_ms?: number;
  retry_on_errors?: string[];
}

export interface WorkflowNode {
  id: string;
  type: NodeType;
  config: Record<string, unknown>;
  /** The node after this one; absent: the next main-path node in array order; null: the end. */
  next?: string | null;
  timeout_seconds?: number;
  retry_policy?: RetryPolicy;
}

export interface WorkflowDefinition {
  name: string;
  version?: string;
  description?: string;
  timeout_seconds?: number;
  variables?: { global?: Record<string, VariableSpec>; input?: Record<string, VariableSpec> };
  nodes: WorkflowNode[];
}
