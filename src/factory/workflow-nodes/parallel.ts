import type { WorkflowNode } from "../workflow-dsl";
import { nodeConfig } from "./config";

/**
 * PARALLEL: `{ branches: [{ name, nodes: [nodeId, ...] }], join?: "all" }` (the DSL's). Each
 * branch's nodes run in list order, the branches at once; the node completes when every branch
 * has (join "all", the only join of v1) with `{ <branch>: { <nodeId>: result } }`, and fails with
 * the first failure.
 */
export const branchesOf = (node: WorkflowNode) => nodeConfig("PARALLEL", node.config).branches;
