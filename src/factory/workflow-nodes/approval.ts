import { nodeConfig } from "./config";

/** The event an approval decision sends to the instance waiting at node `nodeId` (the route sends it, the engine waits for it). */
export const approvalEventType = (nodeId: string) => `approval_${nodeId}`;

/** What the decision event carries and the node's result holds. */
export interface Decision {
  decision: "approved" | "rejected" | "timed_out";
  by: string | null;
  at: string | null;
  comment: string | null;
}

/**
 * APPROVAL (docs/factory-workflows.md, "Approval"): the instance WAITING until a user holding
 * approval:decide (and named by `approvers` when given: one of its roles or user ids) approves or
 * rejects through POST /workflows/instances/{instanceId}/approval, or `timeout_seconds` pass.
 The config is the DSL's.
 */
export const approvalConfig = (raw: unknown) => nodeConfig("APPROVAL", raw);
export type ApprovalConfig = ReturnType<typeof approvalConfig>;

/** Whether the flow goes on after a decision: a rejection (or a timeout under on_timeout: reject) fails the node unless on_reject is continue. */
export function approvalOutcome(config: ApprovalConfig, decision: Decision["decision"]): "continue" | "fail" {
  const approved = decision === "approved" || (decision === "timed_out" && config.on_timeout === "approve");
  return approved || config.on_reject === "continue" ? "continue" : "fail";
}
