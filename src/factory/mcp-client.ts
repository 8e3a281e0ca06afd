import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { RequestOptions } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import type { EdgeProtocol, McpAuth, McpConfig } from "./mcp-config";
import { LegacySseTransport, McpHttpError, StreamableHttpTransport } from "./mcp-http";
import { WebSocketUpgradeError, WorkersWebSocketTransport } from "./mcp-websocket";

/**
 * One MCP session with a registered server through the official SDK's Client: connect (the
 * initialize handshake), do the work, close. A Worker keeps no connection between requests, so
 * every discovery and every call attempt is a session of its own. The Client gets the SDK's
 * Workers-safe JSON-schema validator (@cfworker/json-schema): the default one is ajv, which
 * compiles with `new Function` (workerd forbids it; wrangler.toml aliases ajv to a stub that throws).
 */

/** What the client needs of a registered server. */
export interface McpTarget {
  protocol: EdgeProtocol;
  endpoint: string;
  config: McpConfig;
  /** Opened auth_config, or null. */
  auth: McpAuth | null;
}

export type McpFailureKind = "timeout" | "unreachable" | "rate_limited" | "refused" | "protocol";

/**
 * Why a session failed. `retryable`: a timeout, a network error, an HTTP 429 or 5xx (the server
 * may answer next time); not an authentication refusal, a 4xx or a JSON-RPC error (it would say
 * the same again).
 */
export class McpFailure extends Error {
  constructor(
    readonly kind: McpFailureKind,
    message: string,
    readonly retryable: boolean,
    readonly upstreamStatus?: number,
    readonly rpcCode?: number,
  ) {
    super(message);
  }
}

const CLIENT_INFO = { name: "edge-api-factory", version: "1.0.0" };

function headersOf(target: McpTarget): Record<string, string> {
  const headers: Record<string, string> = { ...target.config.headers, ...target.auth?.headers };
  if (target.auth?.bearer_token) headers.Authorization = `Bearer ${target.auth.bearer_token}`;
  return headers;
}

function transportOf(target: McpTarget, signal: AbortSignal): Transport {
  const url = new URL(target.endpoint);
  const headers = headersOf(target);
  if (target.protocol === "websocket") return new WorkersWebSocketTransport(url, headers, signal);
  return target.config.transport === "legacy_sse" ? new LegacySseTransport(url, headers, signal) : new StreamableHttpTransport(url, headers, signal);
}

/** Every secret value of the target, to keep out of messages (a server may echo a header in an error body). */
export const secretsOf = (auth: McpAuth | null) => [auth?.bearer_token, ...Object.values(auth?.headers ?? {})].filter((s): s is string => !!s && s.length >= 4);

export const redact = (text: string, secrets: readonly string[]) => secrets.reduce((t, s) => t.split(s).join("[redacted]"), text);

const statusFailure = (status: number, message: string) =>
  status === 429
    ? new McpFailure("rate_limited", message, true, status)
    : status >= 500
      ? new McpFailure("unreachable", message, true, status)
      : new McpFailure("refused", message, false, status);

/** An error of the SDK, the transport or fetch as an McpFailure. */
function failureOf(err: unknown, timedOut: boolean, timeoutMs: number): McpFailure {
  if (err instanceof McpFailure) return err;
  if (timedOut || (err instanceof McpError && err.code === ErrorCode.RequestTimeout)) return new McpFailure("timeout", `no answer within ${timeoutMs} ms`, true);
  const message = (err instanceof Error ? err.message : String(err)).slice(0, 500);
  if (err instanceof McpHttpError) return err.status >= 400 ? statusFailure(err.status, message) : new McpFailure("protocol", message, false);
  if (err instanceof WebSocketUpgradeError) return statusFailure(err.status, message);
  if (err instanceof McpError) {
    if (err.code === ErrorCode.ConnectionClosed) return new McpFailure("unreachable", message, true, undefined, err.code);
    return new McpFailure("protocol", message, false, undefined, err.code);
  }
  return new McpFailure("unreachable", message, true);
}

/**
 * Runs `work` in one session that must finish within the config's timeout_ms (connect included).
 * Throws an McpFailure, its message free of the target's secrets.
 */
export async function withMcpSession<T>(target: McpTarget, work: (client: Client, options: RequestOptions) => Promise<T>, outer?: AbortSignal): Promise<T> {
  const timeoutMs = target.config.timeout_ms;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new McpFailure("timeout", `no answer within ${timeoutMs} ms`, true));
  }, timeoutMs);
  const onOuterAbort = () => controller.abort(new McpFailure("timeout", "the caller's deadline passed", false));
  outer?.addEventListener("abort", onOuterAbort);
  const client = new Client(CLIENT_INFO, { jsonSchemaValidator: new CfWorkerJsonSchemaValidator() });
  const options: RequestOptions = { signal: controller.signal, timeout: timeoutMs };
  // Work that ignores the signal (a transport's pending fetch) still ends at the deadline.
  const deadline = new Promise<never>((_, reject) => controller.signal.addEventListener("abort", () => reject(controller.signal.reason)));
  deadline.catch(() => {});
  try {
    if (outer?.aborted) throw new McpFailure("timeout", "the caller's deadline passed", false);
    return await Promise.race([
      (async () => {
        await client.connect(transportOf(target, controller.signal), options);
        return work(client, options);
      })(),
      deadline,
    ]);
  } catch (err) {
    const failure = failureOf(err, timedOut, timeoutMs);
    throw new McpFailure(failure.kind, redact(failure.message, secretsOf(target.auth)), failure.retryable, failure.upstreamStatus, failure.rpcCode);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onOuterAbort);
    await client.close().catch(() => {});
  }
}
