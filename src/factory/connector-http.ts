import type { GraphqlConfig, HttpCredentials, RestApiConfig } from "./connector-config";
import { capped, ConnectorError, jsonValue, redact, type Json, type QueryResult } from "./connector-result";
import { QueryRefusal, type ParamValue } from "./sql-text";

/** The most of a source's answer the Worker reads (its rows are then capped). */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

const secretsOf = (credentials: HttpCredentials | null) => [credentials?.bearer_token ?? "", ...Object.values(credentials?.headers ?? {})];

function headersOf(config: { headers?: Record<string, string> }, credentials: HttpCredentials | null, extra: Record<string, string>): Headers {
  const headers = new Headers({ ...config.headers, ...credentials?.headers, ...extra });
  if (credentials?.bearer_token) headers.set("Authorization", `Bearer ${credentials.bearer_token}`);
  return headers;
}

/** Reads at most MAX_RESPONSE_BYTES of a response as JSON. */
async function readJson(response: Response): Promise<unknown> {
  const reader = response.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = reader ? await reader.read() : { done: true, value: undefined };
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader!.cancel();
      throw new ConnectorError("failed", `the source answered more than ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(value);
  }
  const text = new TextDecoder().decode(await new Blob(chunks).arrayBuffer());
  try {
    return JSON.parse(text);
  } catch {
    throw new ConnectorError("failed", "the source did not answer JSON");
  }
}

/** One request to the source: the timeout, no redirects (credentials go to the configured host only), errors by kind. */
async function send(url: URL, init: RequestInit, timeoutSeconds: number, secrets: string[]): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(timeoutSeconds * 1000) });
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === "TimeoutError" || name === "AbortError") throw new ConnectorError("timeout", `the source did not answer within ${timeoutSeconds} s`);
    throw new ConnectorError("unreachable", `the source could not be reached: ${redact(String((err as Error).message ?? err), secrets)}`);
  }
  if (response.status >= 300) {
    await response.body?.cancel();
    const kind = response.status >= 500 || response.status === 401 || response.status === 403 ? "unreachable" : "failed";
    throw new ConnectorError(kind, `the source answered HTTP ${response.status}`, { upstreamStatus: response.status });
  }
  return readJson(response);
}

/** The member at a dotted path (`data.rows`), or undefined. */
function at(value: unknown, path: string | undefined): unknown {
  if (!path) return value;
  return path.split(".").reduce<unknown>((v, key) => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined), value);
}

/** The rows of an answer: an array of objects (a scalar item becomes {value}); a lone object is one row. */
function rowsOf(value: unknown, path: string | undefined): Record<string, Json>[] {
  const found = at(value, path);
  if (found === undefined) throw new ConnectorError("failed", `the answer has nothing at ${path ?? "its root"}`);
  const list = Array.isArray(found) ? found : [found];
  return list.map((item) => (item !== null && typeof item === "object" && !Array.isArray(item) ? (jsonValue(item) as Record<string, Json>) : { value: jsonValue(item) }));
}

/**
 * A GET on a REST source: `:name` placeholders in `path` take their parameters URL-encoded
 * (one path segment each), the other parameters go in the query string. GET only: a
 * connector reads. The URL stays under base_url.
 */
export async function queryRestApi(config: RestApiConfig, credentials: HttpCredentials | null, path: string, params: Record<string, ParamValue>, maxRows: number): Promise<QueryResult> {
  const startedAt = Date.now();
  const url = restUrl(config.base_url, path, params);
  const body = await send(url, { method: "GET", headers: headersOf(config, credentials, { Accept: "application/json" }) }, config.query_timeout_seconds, secretsOf(credentials));
  return capped(rowsOf(body, config.rows_path), maxRows, null, startedAt);
}

/** base_url + path with its placeholders bound; refuses a path that would leave base_url. */
export function restUrl(baseUrl: string, path: string, params: Record<string, ParamValue>): URL {
  if (!path.startsWith("/") || path.startsWith("//") || /(^|\/)(\.|%2e)(\.|%2e)?(\/|$)|[?#\\]/i.test(path)) {
    throw new QueryRefusal("json.query", "must be a path under the connector's base_url: /segments without ., .. (also as %2e), ?, # or \\ (parameters go in params)");
  }
  const used = new Set<string>();
  const bound = path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => {
    if (!Object.hasOwn(params, name)) throw new QueryRefusal(`json.params.${name}`, `the path uses :${name}, which params does not give`);
    used.add(name);
    // encodeURIComponent leaves dots alone, and the URL parser resolves a "." or ".." segment.
    if (/^\.\.?$/.test(String(params[name]))) throw new QueryRefusal(`json.params.${name}`, "must not be . or .. (a path segment that would leave base_url)");
    return encodeURIComponent(String(params[name]));
  });
  const base = new URL(baseUrl);
  const basePath = base.pathname.replace(/\/$/, "");
  const url = new URL(basePath + bound, base);
  // The parser also resolves %2e and %2e%2e segments: whatever the text, the result must stay under base_url.
  if (url.origin !== base.origin || !url.pathname.startsWith(`${basePath}/`)) {
    throw new QueryRefusal("json.query", "must be a path under the connector's base_url: no dot segments, also not percent-encoded (%2e)");
  }
  for (const [name, value] of Object.entries(params)) if (!used.has(name) && value !== null) url.searchParams.set(name, String(value));
  return url;
}

/**
 * The operation types a GraphQL document declares (`query` when it starts with `{`): the words
 * at brace depth 0 outside strings and comments, where only operation and fragment headers live.
 */
export function graphqlOperations(document: string): string[] {
  const stripped = document.replace(/"""[\s\S]*?"""|"(?:\\.|[^"\\\n])*"|#[^\n]*/g, " ");
  const operations: string[] = [];
  let depth = 0;
  let expectHeader = true;
  for (const token of stripped.match(/[{}()]|\$?[A-Za-z_][A-Za-z0-9_]*/g) ?? []) {
    if (token === "{" || token === "(") {
      if (depth === 0 && token === "{" && expectHeader) operations.push("query");
      depth++;
      expectHeader = false;
    } else if (token === ")") {
      depth--;
    } else if (token === "}") {
      depth--;
      if (depth === 0) expectHeader = true;
    } else if (depth === 0 && expectHeader) {
      operations.push(token === "fragment" ? "fragment" : token);
      expectHeader = false;
    }
  }
  return operations;
}

/** A GraphQL query (never a mutation or subscription: a connector reads) with params as its variables. */
export async function queryGraphql(config: GraphqlConfig, credentials: HttpCredentials | null, document: string, params: Record<string, ParamValue>, maxRows: number): Promise<QueryResult> {
  const operations = graphqlOperations(document);
  const writing = operations.find((op) => op !== "query" && op !== "fragment");
  if (!operations.includes("query") || writing) {
    throw new QueryRefusal("json.query", `connectors only read: the document must hold query operations only${writing ? ` (found ${writing})` : ""}`);
  }
  const startedAt = Date.now();
  const secrets = secretsOf(credentials);
  const headers = headersOf(config, credentials, { Accept: "application/graphql-response+json, application/json", "Content-Type": "application/json" });
  const body = (await send(new URL(config.endpoint), { method: "POST", headers, body: JSON.stringify({ query: document, variables: params }) }, config.query_timeout_seconds, secrets)) as {
    data?: unknown;
    errors?: { message?: string }[];
  };
  if (Array.isArray(body?.errors) && body.errors.length) {
    throw new ConnectorError("failed", `the source answered GraphQL errors: ${redact(body.errors.map((e) => e.message ?? "error").join("; "), secrets)}`);
  }
  const data = body?.data;
  const fields = data !== null && typeof data === "object" ? Object.keys(data) : [];
  // Without rows_path, a query of one root field answers that field's rows.
  const rows = config.rows_path ? rowsOf(body, config.rows_path) : rowsOf(fields.length === 1 ? (data as Record<string, unknown>)[fields[0]!] : data, undefined);
  return capped(rows, maxRows, null, startedAt);
}

/** Whether the source answers: GET health_path (REST) or `{ __typename }` (GraphQL). */
export async function pingHttp(type: "rest_api" | "graphql", config: RestApiConfig | GraphqlConfig, credentials: HttpCredentials | null): Promise<void> {
  const secrets = secretsOf(credentials);
  if (type === "rest_api") {
    const rest = config as RestApiConfig;
    await send(new URL(new URL(rest.base_url).pathname.replace(/\/$/, "") + rest.health_path, rest.base_url), { method: "GET", headers: headersOf(rest, credentials, { Accept: "application/json" }) }, rest.query_timeout_seconds, secrets);
    return;
  }
  const graphql = config as GraphqlConfig;
  const headers = headersOf(graphql, credentials, { Accept: "application/json", "Content-Type": "application/json" });
  await send(new URL(graphql.endpoint), { method: "POST", headers, body: JSON.stringify({ query: "{ __typename }" }) }, graphql.query_timeout_seconds, secrets);
}
