/**
 * How a workflow node fails (docs/factory-workflows.md): a code from the contract's list, which
 * retry_policy.retry_on_errors and workflow_execution_logs.error_code name, and a message safe to
 * store and show (never a credential).
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
