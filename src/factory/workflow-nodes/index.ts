import type { NodeType } from "../workflow-dsl";
import { action } from "./action";
import { bi } from "./bi";
import { compensation } from "./compensation";
export { COMPENSATING_TYPES } from "./compensation";
import { switchNode } from "./switch";
import type { NodeHandler } from "./types";

/**
 * Node types run as one durable step each, by handler. A new type is one entry here (and its
 * module in this folder); a workflow using a type that is in neither list is refused at execute
 * with a 422 naming it.
 */
export const NODE_HANDLERS: Partial<Record<NodeType, NodeHandler>> = {
  BI: bi,
  ACTION: action,
  SWITCH: switchNode,
  COMPENSATION: compensation,
};

/**
 * Node types the engine drives itself, because they use the Workflows step API beyond one step:
 * WAIT (step.sleep), APPROVAL (step.waitForEvent), PARALLEL (branches of steps).
 */
export const ENGINE_NODES: ReadonlySet<NodeType> = new Set<NodeType>(["WAIT", "APPROVAL", "PARALLEL"]);

/** The node types this Worker can execute. */
export const supportedNodeTypes = (): NodeType[] => [...(Object.keys(NODE_HANDLERS) as NodeType[]), ...ENGINE_NODES];
