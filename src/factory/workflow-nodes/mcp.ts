import { loadConfig } from "../../platform/config";
import { callMcpTool, McpCallError, type McpCallErrorKind } from "../mcp-call";
import { NodeError, type NodeErrorCode } from "../workflow-errors";
import { nodeConfig } from "./config";
import type { NodeHandler } from "./types";

/**
 * The MCP node (§3.2): `{ server_id, tool, arguments? }` calls the server's tool by name through
 * callMcpTool, the same path as POST /mcp/tools/{id}/call: arguments (mappings resolved against
 * the instance's variables) checked against the tool's input schema, the server's timeout,
 * retries and circuit breaker, a call log row carrying the instance id and trace id. The result
 * is the tool's CallToolResult.
 */

const CODES: Record<McpCallErrorKind, NodeErrorCode> = {
  not_found: "NOT_FOUND",
  tool_disabled: "VALIDATION_ERROR",
  invalid_arguments: "VALIDATION_ERROR",
  circuit_open: "CIRCUIT_OPEN",
  keys_missing: "INTERNAL",
  credentials: "UPSTREAM_ERROR",
  timeout: "TIMEOUT",
  unreachable: "NETWORK_ERROR",
  rate_limited: "RATE_LIMIT",
  refused: "UPSTREAM_ERROR",
  protocol: "UPSTREAM_ERROR",
  tool_error: "UPSTREAM_ERROR",
};

export const mcpNode: NodeHandler = async (ctx, config) => {
  const { server_id: serverId, tool, arguments: mapping } = nodeConfig("MCP", config);
  const args = (mapping === undefined ? {} : ctx.resolve(mapping)) as Record<string, unknown>;
  try {
    const call = await callMcpTool(
      { db: ctx.db, run: ctx.run, keys: loadConfig(ctx.env).FACTORY_CONNECTOR_KEYS },
      { tool: { serverId, name: tool }, arguments: args, traceId: ctx.traceId, workflowInstanceId: ctx.instanceId, signal: ctx.signal },
    );
    return call.result;
  } catch (err) {
    if (!(err instanceof McpCallError)) throw err;
    const faults = err.faults.length ? { faults: err.faults } : {};
    throw new NodeError(CODES[err.kind], err.message, { ...err.details, ...faults });
  }
};
