import { NodeError } from "../workflow-errors";

/**
 * APPROVAL (docs/factory-workflows.md, "Approval"): the instance WAITING until a user holding
 * approval:decide (and named by `approvers` when given: one of its roles or user ids) approves or
 * rejects through POST /workflows/instances/{instanceId}/approval, or `timeout_seconds` pass.
 */
export interface ApprovalConfig {
  message?: string;
  approvers?: { roles?: string[]; user_ids?: string[] };
  timeout_seconds: number;
  on_timeout?: "reject" | "approve";
  on_reject?: "fail" | "continue";
}

/** What the decision event carries and the node's result holds. */
export interface Decision {
  decision: "approved" | "rejected" | "timed_out";
  by: string | null;
  at: string | null;
  comment: string | null;
}

export function approvalConfig(config: Record<string, unknown>): ApprovalConfig {
  const c = config as unknown as ApprovalConfig;
  if (typeof c.timeout_seconds !== "number" || !Number.isInteger(c.timeout_seconds) || c.timeout_seconds < 1) {
    throw new NodeError("VALIDATION_ERROR", "config.timeout_seconds must be a whole number of seconds ≥ 1");
  }
  return c;
}

/** Whether the flow goes on after a decision: a rejection (or a timeout under on_timeout: reject) fails the node unless on_reject is continue. */
export function approvalOutcome(config: ApprovalConfig, decision: Decision["decision"]): "continue" | "fail" {
  const approved = decision === "approved" || (decision === "timed_out" && config.on_timeout === "approve");
  return approved || config.on_reject === "continue" ? "continue" : "fail";
}
