/**
 * What a workflow node handler throws (docs/factory-workflows.md): a code the DSL's
 * `retry_on_errors` and workflow_instances.error_code name, a message, and details safe to log.
 */

export const NODE_ERROR_CODES = [
  "TIMEOUT",
  "NETWORK_ERROR",
  "RATE_LIMIT",
  "UPSTREAM_ERROR",
  "VALIDATION_ERROR",
  "NOT_FOUND",
  "FORBIDDEN",
  "CIRCUIT_OPEN",
  "REJECTED",
  "INTERNAL",
] as const;

export type NodeErrorCode = (typeof NODE_ERROR_CODES)[number];

export class NodeError extends Error {
  constructor(
    readonly code: NodeErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "NodeError";
  }
}
