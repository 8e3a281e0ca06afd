import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { sql } from "drizzle-orm";
import type { Database } from "../platform/db";
import { unseal, UnsealError, type SealingKey } from "../platform/sealed-secrets";
import { argumentFaults, type ArgumentFault } from "./mcp-arguments";
import { breakerUpdate, callTarget, type BreakerEffect, type CallTarget, type CircuitState } from "./mcp-breaker";
import { McpFailure, redact, secretsOf, withMcpSession, type McpTarget } from "./mcp-client";
import { storedConfig, type McpAuth } from "./mcp-config";
import { authOwner, type Runner } from "./mcp-sql";

/**
 * The one way anything calls an MCP tool: `POST /mcp/tools/{id}/call` and a workflow's MCP node.
 * Two Postgres round trips through the caller's `run` (the route's runFactory, the node's run as
 * the instance's actor): before the call, the tool, its server and the breaker's verdict; after
 * it, the call log, the tool's usage and the breaker. A call refused before anything is sent
 * (unknown tool, disabled, bad arguments, open breaker) costs the first only.
 */

export type McpCallErrorKind =
  | "not_found"
  | "tool_disabled"
  | "invalid_arguments"
  | "circuit_open"
  | "keys_missing"
  | "credentials"
  | "timeout"
  | "unreachable"
  | "rate_limited"
  | "refused"
  | "protocol"
  | "tool_error";

/** Why a call did not produce a result; `details` are safe to show (no secret). */
export class McpCallError extends Error {
  constructor(
    readonly kind: McpCallErrorKind,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly faults: ArgumentFault[] = [],
  ) {
    super(message);
  }
}

export interface McpCallDeps {
  db: Database;
  run: Runner;
  keys: readonly SealingKey[] | undefined;
}

export interface McpCallRequest {
  tool: { toolId: string } | { serverId: string; name: string };
  arguments: Record<string, unknown>;
  traceId: string;
  workflowInstanceId?: string | null;
  /** Aborts the call (a workflow node's timeout). */
  signal?: AbortSignal;
}

export interface McpCallResult {
  callLogId: string;
  toolId: string;
  serverId: string;
  tool: string;
  result: CallToolResult;
  latencyMs: number;
  retryCount: number;
  circuit: { state: CircuitState; failCount: number };
}

/** Opens a server's sealed auth_config, or null when it has none. */
export async function openAuth(keys: readonly SealingKey[] | undefined, tenantId: string, serverId: string, sealed: string | null): Promise<McpAuth | null> {
  if (sealed === null) return null;
  if (!keys) throw new McpCallError("keys_missing", "the service is misconfigured: FACTORY_CONNECTOR_KEYS is not set, so MCP auth_config cannot be opened");
  try {
    return JSON.parse(await unseal(keys, sealed, authOwner(tenantId, serverId))) as McpAuth;
  } catch (err) {
    if (err instanceof UnsealError) throw new McpCallError("credentials", `the server's auth_config cannot be opened: ${err.message}; set it again`, { reason: `credentials_${err.reason}` });
    throw err;
  }
}

/** The target of a session from a stored server row (stdio rows cannot exist: registration refuses them). */
export function targetOf(row: { protocol: string; endpoint: string; config: unknown }, auth: McpAuth | null): McpTarget {
  if (row.protocol === "stdio") throw new McpCallError("refused", "protocol stdio cannot run on the edge");
  return { protocol: row.protocol as McpTarget["protocol"], endpoint: row.endpoint, config: storedConfig(row.config), auth };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(timer), resolve()));
  });

/** Stored output at most this long (JSON characters); a longer one is logged as its size only. */
const MAX_LOGGED_OUTPUT = 100_000;

/** What a failure does to the breaker: the server did not answer properly (counted) or answered (not counted). */
const effectOf = (failure: McpFailure): BreakerEffect => (failure.kind === "protocol" ? "none" : "failure");

const textOf = (result: CallToolResult) =>
  result.content
    .filter((c): c is { type: "text"; text: string } => c.type === "text")
    .map((c) => c.text)
    .join("\n")
    .slice(0, 500);

function precheck(target: CallTarget | undefined, request: McpCallRequest): asserts target is CallTarget {
  const name = "toolId" in request.tool ? `MCP tool ${request.tool.toolId}` : `MCP tool '${request.tool.name}' of server ${request.tool.serverId}`;
  if (!target) throw new McpCallError("not_found", `${name} was not found`);
  if (!target.is_enabled) throw new McpCallError("tool_disabled", `MCP tool '${target.tool_name}' is disabled`, { toolId: target.tool_id });
  const faults = argumentFaults(target.input_schema, request.arguments);
  if (faults.length) throw new McpCallError("invalid_arguments", `the arguments do not match the input schema of tool '${target.tool_name}'`, { toolId: target.tool_id }, faults);
  if (target.state === "closed" || target.trial) return;
  throw new McpCallError("circuit_open", `the circuit breaker of MCP server ${target.server_id} is ${target.state}: the server is not called until ${target.state === "open" ? "its cool-down has passed" : "its trial call has answered"}`, {
    serverId: target.server_id,
    circuitState: target.state,
    failCount: target.fail_count,
    retryAfter: Math.max(1, target.retry_after),
  });
}

/**
 * Calls a tool: arguments checked against its input schema, the breaker consulted, then up to
 * 1 + max_retries attempts of timeout_ms each (a retry after a timeout, a network error, an HTTP
 * 429 or 5xx, waiting retry_backoff_ms doubled each time), and the outcome recorded. Throws an
 * McpCallError; a tool that answers with `isError` is a `tool_error` (logged, not counted by the breaker).
 */
export async function callMcpTool(deps: McpCallDeps, request: McpCallRequest): Promise<McpCallResult> {
  const { db, run, keys } = deps;
  const [gate] = await run([callTarget(db, request.tool)] as const);
  const target = gate.rows[0];
  precheck(target, request);
  const auth = await openAuth(keys, target.tenant_id, target.server_id, target.sealed_auth);
  const mcp = targetOf(target, auth);
  const { max_retries: maxRetries, retry_backoff_ms: backoff } = mcp.config;

  const started = Date.now();
  let retryCount = 0;
  let result: CallToolResult | null = null;
  let failure: McpFailure | null = null;
  for (let attempt = 0; ; attempt++) {
    try {
      result = (await withMcpSession(mcp, (client, options) => client.callTool({ name: target.tool_name, arguments: request.arguments }, undefined, options), request.signal)) as CallToolResult;
      failure = null;
      break;
    } catch (err) {
      if (!(err instanceof McpFailure)) throw err;
      failure = err;
      if (!err.retryable || attempt >= maxRetries || request.signal?.aborted) break;
      retryCount++;
      await sleep(Math.min(backoff * 2 ** attempt, 5_000), request.signal);
    }
  }
  const latencyMs = Date.now() - started;
  const toolError = result?.isError ? textOf(result) || "the tool reported an error" : null;
  const errorMessage = failure ? `${failure.kind}: ${failure.message}` : toolError ? `tool_error: ${redact(toolError, secretsOf(auth))}` : null;
  const effect: BreakerEffect = failure ? effectOf(failure) : "success";
  const output = result === null ? null : JSON.stringify(result).length > MAX_LOGGED_OUTPUT ? { truncated: true, size: JSON.stringify(result).length } : result;

  const [recorded] = await run([
    db.execute<{ id: string; circuit_breaker_state: CircuitState; fail_count: number }>(sql`
      with log as (
        insert into factory.mcp_call_logs (tenant_id, mcp_tool_id, workflow_instance_id, input_data, output_data, success, error_message, latency_ms, retry_count, trace_id)
        values (${target.tenant_id}::uuid, ${target.tool_id}::uuid, ${request.workflowInstanceId ?? null}::uuid, ${JSON.stringify(request.arguments)}::jsonb,
                ${output === null ? null : JSON.stringify(output)}::jsonb, ${errorMessage === null}, ${errorMessage}, ${latencyMs}, ${retryCount}, ${request.traceId})
        returning id
      ),
      usage as (
        update factory.mcp_tools
        set avg_latency_ms = round((coalesce(avg_latency_ms, 0)::numeric * usage_count + ${latencyMs}) / (usage_count + 1)),
            usage_count = usage_count + 1, last_used_at = now()
        where id = ${target.tool_id}::uuid
        returning id
      ),
      breaker as (${breakerUpdate(target.server_id, effect)})
      select log.id, breaker.circuit_breaker_state, breaker.fail_count from log left join breaker on true left join usage on true`),
  ] as const);
  const row = recorded.rows[0]!;
  const circuit = { state: row.circuit_breaker_state, failCount: row.fail_count };
  const context = { callLogId: row.id, toolId: target.tool_id, serverId: target.server_id, latencyMs, retryCount, circuitState: circuit.state };
  if (failure) {
    const kind = failure.kind === "refused" || failure.kind === "protocol" || failure.kind === "rate_limited" || failure.kind === "timeout" ? failure.kind : "unreachable";
    throw new McpCallError(kind, `MCP tool '${target.tool_name}' failed after ${retryCount + 1} attempt(s): ${failure.message}`, {
      ...context,
      ...(failure.upstreamStatus ? { upstreamStatus: failure.upstreamStatus } : {}),
      ...(failure.rpcCode ? { rpcCode: failure.rpcCode } : {}),
    });
  }
  if (toolError !== null) throw new McpCallError("tool_error", `MCP tool '${target.tool_name}' reported an error: ${redact(toolError, secretsOf(auth))}`, context);
  return { callLogId: row.id, toolId: target.tool_id, serverId: target.server_id, tool: target.tool_name, result: result!, latencyMs, retryCount, circuit };
}
