/** The error codes a workflow node fails with: retry_on_errors and workflow_execution_logs.error_code hold them. */
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

/** What a node handler throws: a code the retry policy matches, a message for the log (never a secret). */
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

/**
 * Any thrown value as a NodeError: a NodeError stays itself, a fetch that could not connect is a
 * NETWORK_ERROR, an abort a TIMEOUT, anything else INTERNAL with a generic message (an unknown
 * error's text may carry what a log must not).
 */
export function asNodeError(err: unknown): NodeError {
  if (err instanceof NodeError) return err;
  const name = (err as { name?: string } | null)?.name;
  if (name === "AbortError" || name === "TimeoutError") return new NodeError("TIMEOUT", "the node did not finish within its timeout");
  if (err instanceof TypeError && /fetch|network|connect/i.test(err.message)) return new NodeError("NETWORK_ERROR", "the request could not reach its destination");
  return new NodeError("INTERNAL", "the node failed unexpectedly");
}

/**
 * How an error crosses a Cloudflare Workflows step boundary (only name and message survive it):
 * `CODE: message`, read back by decodeNodeError().
 */
export const encodeNodeError = (err: NodeError) => `${err.code}: ${err.message}`;

export function decodeNodeError(message: string): NodeError {
  const m = /^([A-Z_]+): ([\s\S]*)$/.exec(message);
  if (m && (NODE_ERROR_CODES as readonly string[]).includes(m[1]!)) return new NodeError(m[1] as NodeErrorCode, m[2]!);
  return new NodeError("INTERNAL", message || "the step failed");
}
