import { z } from "zod";
import { ApiError, fieldErrors } from "../platform/problem";
import { publicHeaders } from "./public-headers";
import type { MCP_PROTOCOLS } from "./schema";

/**
 * What an MCP server's registration holds (§9.2): the protocol a Worker can speak, its endpoint,
 * `config` (transport, timeout, retries, circuit breaker; snake_case like the spec's JSON) and the
 * write-only `auth_config`. docs/factory-mcp.md says the same in prose.
 */

export type McpProtocol = (typeof MCP_PROTOCOLS)[number];
export type EdgeProtocol = Exclude<McpProtocol, "stdio">;

/** Milliseconds one attempt may take at most, whatever a config asks (a Worker's request should not wait longer). */
export const TIMEOUT_CEILING_MS = 60_000;

const HeaderName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, "must be an HTTP header name");
const Headers = z.record(HeaderName, z.string().max(4096).regex(/^[^\r\n]*$/, "must be one line")).refine((h) => Object.keys(h).length <= 20, "at most 20 headers");

const McpConfig = z
  .object({
    /**
     * Under protocol `sse`: `streamable_http` (MCP 2025-03-26 and later, one endpoint taking POSTs)
     * or `legacy_sse` (2024-11-05: a GET event stream that names where to POST). Ignored for websocket.
     */
    transport: z.enum(["streamable_http", "legacy_sse"]).default("streamable_http"),
    /** One attempt (connect, initialize and the request) may take this long. */
    timeout_ms: z.int().min(100).max(TIMEOUT_CEILING_MS).default(10_000),
    /** Further attempts after a timeout, a network error, an HTTP 429 or 5xx. */
    max_retries: z.int().min(0).max(5).default(2),
    /** The first retry waits this long, each next one twice as long (at most 5 s). */
    retry_backoff_ms: z.int().min(0).max(5_000).default(200),
    circuit_breaker: z
      .object({
        /** Consecutive failed calls that open the breaker. */
        failure_threshold: z.int().min(1).max(100).default(5),
        /** How long an open breaker refuses calls before it lets one trial call through (half_open). */
        cooldown_seconds: z.number().min(0.1).max(3_600).default(30),
      })
      .strict()
      .prefault({}),
    /** Sent with every request; not secret (put secrets in auth_config). */
    headers: publicHeaders(Headers, "auth_config").optional(),
  })
  .strict();

export type McpConfig = z.infer<typeof McpConfig>;

const AuthConfig = z
  .object({ bearer_token: z.string().min(1).max(8192).optional(), headers: Headers.optional() })
  .strict()
  .refine((c) => c.bearer_token !== undefined || c.headers !== undefined, "must give bearer_token or headers");

export type McpAuth = z.infer<typeof AuthConfig>;

/** Why `stdio` is refused: said by the 422 of a registration that names it or leaves the protocol to the DDL's default. */
const STDIO_REFUSED =
  "protocol stdio cannot run on the edge: it starts the MCP server as a local process and talks over its stdin and stdout, and a Cloudflare Worker can start no process; " +
  "run the server where processes run and expose it over HTTP: register it with protocol sse (Streamable HTTP, or legacy SSE with config.transport legacy_sse) or websocket";

export function stdioRefused(omitted: boolean): ApiError {
  const detail = omitted ? `protocol is required: the column's default is stdio, and ${STDIO_REFUSED}` : STDIO_REFUSED;
  return new ApiError(422, "mcp_protocol_unsupported", detail, { protocol: "stdio", errors: [{ path: "json.protocol", message: detail }] });
}

const ENDPOINT_SCHEMES: Record<EdgeProtocol, readonly string[]> = { sse: ["https:", "http:"], websocket: ["wss:", "ws:", "https:", "http:"] };

/** The endpoint as stored, or a 422 naming json.endpoint. */
export function checkedEndpoint(protocol: EdgeProtocol, endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw fieldErrors([{ path: "json.endpoint", message: "must be an absolute URL" }]);
  }
  const schemes = ENDPOINT_SCHEMES[protocol];
  if (!schemes.includes(url.protocol)) throw fieldErrors([{ path: "json.endpoint", message: `a ${protocol} endpoint must be a ${schemes.map((s) => s.slice(0, -1)).join(", ")} URL` }]);
  if (url.username || url.password) throw fieldErrors([{ path: "json.endpoint", message: "must not carry credentials: put them in auth_config" }]);
  return url.toString();
}

const issuesAt = (root: string, error: z.ZodError) => error.issues.map((i) => ({ path: [root, ...i.path.map(String)].join("."), message: i.message }));

/** A config with defaults applied, or a 422 naming each faulty field under json.config. */
export function checkedConfig(config: unknown): McpConfig {
  const result = McpConfig.safeParse(config ?? {});
  if (!result.success) throw fieldErrors(issuesAt("json.config", result.error));
  return result.data;
}

/** A stored config with today's defaults (stored configs were checked on the way in). */
export const storedConfig = (config: unknown): McpConfig => McpConfig.parse(config ?? {});

/** auth_config as it will be sealed, or a 422 naming each faulty field (never its value). */
export function checkedAuth(auth: unknown): McpAuth {
  const result = AuthConfig.safeParse(auth);
  if (!result.success) throw fieldErrors(issuesAt("json.authConfig", result.error).map((e) => ({ ...e, message: e.message.replace(/received .*/i, "received another value") })));
  return result.data;
}
