import { NodeError } from "../workflow-errors";
import type { NodeType } from "../workflow-dsl";
import type { NodeHandler } from "./types";

/**
 * COMPENSATION: reaching it registers the undo of `target` (the saga of docs/factory-workflows.md,
 * "Execution"); the engine keeps the registration and, when a later node fails, runs the
 * registered `do`s in reverse order through the handler registry.
 */
/** Node types a COMPENSATION's `do` may name: any type run by a handler (ACTION today; MCP, ROLLBACK, DEPLOY once registered). */
export const COMPENSATING_TYPES: readonly NodeType[] = ["ACTION", "MCP", "ROLLBACK", "DEPLOY"];

export const compensation: NodeHandler = async (_ctx, config) => {
  const undo = config.do as { type?: unknown; config?: unknown } | undefined;
  if (typeof config.target !== "string") throw new NodeError("VALIDATION_ERROR", "config.target must name the node this undoes");
  if (!undo || !COMPENSATING_TYPES.includes(undo.type as never) || !undo.config || typeof undo.config !== "object") {
    throw new NodeError("VALIDATION_ERROR", `config.do must be { type: ${COMPENSATING_TYPES.join("|")}, config: {...} }`);
  }
  return { registered: true, target: config.target };
};
