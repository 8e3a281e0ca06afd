import { nodeConfig } from "./config";
import type { NodeHandler } from "./types";

/**
 * COMPENSATION: reaching it registers the undo of `target` (the saga of docs/factory-workflows.md,
 * "Nodes"); the engine keeps the registration and, when a later node fails, runs the registered
 * `do`s in reverse order through the handler registry. The types a `do` may name are the DSL's
 * (COMPENSATING_TYPES): ACTION, MCP, ROLLBACK, DEPLOY.
 */
export const compensation: NodeHandler = async (_ctx, raw) => {
  const config = nodeConfig("COMPENSATION", raw);
  return { registered: true, target: config.target };
};
