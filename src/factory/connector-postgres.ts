import postgres from "postgres";
import type { SqlConfig, SqlCredentials } from "./connector-config";
import { capped, ConnectorError, jsonValue, redact, type Json, type QueryResult } from "./connector-result";
import { openPgSocket } from "./pg-socket";
import { cappedQuery, type BoundQuery } from "./sql-text";

/** How long past statement_timeout the Worker waits before it drops the connection itself (a source that never answers). */
const GRACE_MS = 2000;

/**
 * Runs one bound query on a Postgres source over TCP (postgres.js on cloudflare:sockets): a new
 * connection per query (a Worker holds none between requests), whose startup parameters make
 * every transaction read-only and bound each statement by statement_timeout, so even a query
 * that slipped past the text check cannot write or run long. The LIMIT one past the cap stops
 * the source at the cap.
 */
export async function queryPostgres(config: SqlConfig, credentials: SqlCredentials, bound: BoundQuery, maxRows: number): Promise<QueryResult> {
  const timeoutMs = config.query_timeout_seconds * 1000;
  const secrets = [credentials.password];
  // `socket` is a documented option its types leave out.
  const sql = postgres({
    host: config.host,
    port: config.port,
    database: config.database,
    username: credentials.username,
    password: credentials.password,
    ssl: config.ssl_enabled ? ("require" as const) : false,
    max: 1,
    prepare: false,
    fetch_types: false,
    connect_timeout: config.query_timeout_seconds,
    onnotice: () => {},
    socket: () => openPgSocket(config.host, config.port, config.ssl_enabled),
    connection: {
      application_name: "edge-api-factory-connector",
      default_transaction_read_only: true,
      statement_timeout: timeoutMs,
    },
  } as postgres.Options<Record<string, postgres.PostgresType>>);
  const startedAt = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectorError("timeout", `the source did not answer within ${config.query_timeout_seconds} s`)), timeoutMs + GRACE_MS);
  });
  try {
    const result = await Promise.race([sql.unsafe(cappedQuery(bound.text, maxRows), bound.values as never[]), overdue]);
    const columns = (result.columns ?? []).map((c) => c.name);
    const rows = Array.from(result, (row) => Object.fromEntries(columns.map((c) => [c, jsonValue((row as Record<string, unknown>)[c])])) as Record<string, Json>);
    return capped(rows, maxRows, columns, startedAt);
  } catch (err) {
    throw asConnectorError(err, secrets, config.query_timeout_seconds);
  } finally {
    clearTimeout(timer);
    sql.end({ timeout: 0 }).catch(() => {});
  }
}

/** A driver error as the connector error it means, its message cleared of credentials. */
function asConnectorError(err: unknown, secrets: string[], timeoutSeconds: number): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const { code, message } = err as { code?: unknown; message?: unknown };
  const text = redact(typeof message === "string" ? message : "the source failed", secrets);
  const sqlstate = typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  if (sqlstate === "57014") return new ConnectorError("timeout", `the query ran past the connector's timeout (${timeoutSeconds} s) and was cancelled`, { sqlstate });
  if (sqlstate === "25006") return new ConnectorError("refused", `the source refused a write in its read-only transaction: ${text}`, { sqlstate });
  if (sqlstate?.startsWith("28") || sqlstate?.startsWith("08") || sqlstate?.startsWith("53") || sqlstate?.startsWith("57")) {
    return new ConnectorError("unreachable", `the source refused the connection: ${text}`, { sqlstate });
  }
  if (sqlstate) return new ConnectorError("failed", `the source answered an error: ${text}`, { sqlstate });
  if (code === "CONNECT_TIMEOUT") return new ConnectorError("timeout", `no connection within ${timeoutSeconds} s`);
  return new ConnectorError("unreachable", `the source could not be reached: ${text}`);
}
