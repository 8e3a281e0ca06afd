import type { WorkflowNode } from "../workflow-dsl";

/**
 * PARALLEL: `{ branches: [{ name, nodes: [nodeId, ...] }], join?: "all" }`. Each branch's nodes run
 * in list order, the branches at once; the node completes when every branch has (join "all", the
 * only join of v1) with `{ <branch>: { <nodeId>: result } }`, and fails with the first failure.
 */
export interface Branch {
  name: string;
  nodes: string[];
}

export function branchesOf(node: WorkflowNode): Branch[] {
  const branches = (node.config as { branches?: unknown }).branches;
  return Array.isArray(branches) ? (branches as Branch[]).filter((b) => b && typeof b.name === "string" && Array.isArray(b.nodes)) : [];
}
