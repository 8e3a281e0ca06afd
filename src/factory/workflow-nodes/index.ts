import type { NodeType } from "../workflow-dsl";
import { action } from "./action";
import { bi } from "./bi";
import { compensation } from "./compensation";
import { dataNode } from "./data";
import { deployNode } from "./deploy";
import { judgmentNode } from "./judgment";
import { mcpNode } from "./mcp";
import { rollbackNode } from "./rollback";
import { simulateNode } from "./simulate";
import { switchNode } from "./switch";
import type { NodeHandler } from "./types";

/**
 * Node types the engine drives itself, because they use the Workflows step API beyond one step:
 * WAIT (step.sleep), APPROVAL (step.waitForEvent), PARALLEL (branches of steps).
 */
export const ENGINE_NODES = ["WAIT", "APPROVAL", "PARALLEL"] as const satisfies readonly NodeType[];

/**
 * Every other node type, run as one durable step by its handler. The record is total: a node type
 * added to the DSL without a handler does not compile.
 */
export const NODE_HANDLERS: Record<Exclude<NodeType, (typeof ENGINE_NODES)[number]>, NodeHandler> = {
  DATA: dataNode,
  BI: bi,
  JUDGMENT: judgmentNode,
  MCP: mcpNode,
  ACTION: action,
  SWITCH: switchNode,
  COMPENSATION: compensation,
  DEPLOY: deployNode,
  ROLLBACK: rollbackNode,
  SIMULATE: simulateNode,
};
