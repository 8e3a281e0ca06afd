import type { SqlConfig, SqlCredentials } from "./connector-config";
import { capped, ConnectorError, jsonValue, redact, type Json, type QueryResult } from "./connector-result";
import { cappedQuery, type BoundQuery } from "./sql-text";

/** How long past the server's own statement timeout the Worker waits before it drops the connection itself. */
const GRACE_MS = 2000;

/** MySQL/MariaDB error numbers this module tells apart. */
const ER = {
  /** MariaDB: max_statement_time exceeded. */
  STATEMENT_TIMEOUT: 1969,
  /** MySQL: max_execution_time exceeded. */
  QUERY_TIMEOUT: 3024,
  /** Either: a write in a READ ONLY transaction (sqlstate 25006). */
  READ_ONLY_TRANSACTION: 1792,
  /** Either: the user lacks the privilege for a command, a column, a routine or the statement. */
  PRIVILEGE: new Set([1142, 1143, 1227, 1370]),
} as const;

/**
 * Runs one bound query on a MySQL or MariaDB source over TCP: mysql2 with `disableEval` (its
 * parsers then read rows by code, never by generated functions, which workerd forbids), on
 * workerd's node:net, one connection per query. The driver is imported here, on use, so a
 * Worker that never reads MySQL never evaluates it (startup CPU).
 *
 * Before the query the session is made read-only (`SET SESSION TRANSACTION READ ONLY`) and its
 * statements bounded by the server (MariaDB's `max_statement_time`, seconds; MySQL's
 * `max_execution_time`, milliseconds, which MySQL applies to SELECT only, the only statement a
 * connector sends). The query is a server-side prepared statement (COM_STMT_PREPARE/EXECUTE):
 * values go in the EXECUTE packet, never into the text.
 */
export async function queryMysql(config: SqlConfig, credentials: SqlCredentials, bound: BoundQuery, maxRows: number): Promise<QueryResult> {
  const { createConnection } = await import("mysql2/promise");
  const timeoutMs = config.query_timeout_seconds * 1000;
  const secrets = [credentials.password];
  const startedAt = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let connection: Awaited<ReturnType<typeof createConnection>> | undefined;
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectorError("timeout", `the source did not answer within ${config.query_timeout_seconds} s`)), timeoutMs + GRACE_MS);
  });
  try {
    const run = async () => {
      connection = await createConnection({
        host: config.host,
        port: config.port,
        database: config.database,
        user: credentials.username,
        password: credentials.password,
        ssl: config.ssl_enabled ? { rejectUnauthorized: true } : undefined,
        connectTimeout: timeoutMs,
        disableEval: true,
        multipleStatements: false,
        charset: "utf8mb4",
        // Values as JSON-safe text where a number would lose digits or a date would gain a time zone.
        supportBigNumbers: true,
        bigNumberStrings: true,
        dateStrings: true,
        decimalNumbers: false,
        timezone: "Z",
      });
      // The handshake's server version tells MariaDB from MySQL (an internal of mysql2's, read defensively: MySQL's variable otherwise).
      const handshake = (connection as unknown as { connection?: { _handshakePacket?: { serverVersion?: string } } }).connection?._handshakePacket;
      const mariadb = /mariadb/i.test(handshake?.serverVersion ?? "");
      await connection.query("SET SESSION TRANSACTION READ ONLY");
      await connection.query(mariadb ? `SET SESSION max_statement_time = ${config.query_timeout_seconds}` : `SET SESSION max_execution_time = ${timeoutMs}`);
      return connection.execute(cappedQuery(bound.text, maxRows), bound.values);
    };
    const [rows, fields] = await Promise.race([run(), overdue]);
    const columns = (fields ?? []).map((f) => f.name);
    const records = (rows as Record<string, unknown>[]).map((row) => Object.fromEntries(columns.map((c) => [c, jsonValue(row[c])])) as Record<string, Json>);
    return capped(records, maxRows, columns, startedAt);
  } catch (err) {
    throw asConnectorError(err, secrets, config.query_timeout_seconds);
  } finally {
    clearTimeout(timer);
    // destroy(), not end(): a connection still running a query (the client-side timeout) is dropped at once.
    connection?.destroy();
  }
}

/** A driver error as the connector error it means, its message cleared of credentials. */
function asConnectorError(err: unknown, secrets: string[], timeoutSeconds: number): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const { code, errno, sqlState, message, fatal } = err as { code?: unknown; errno?: unknown; sqlState?: unknown; message?: unknown; fatal?: unknown };
  const text = redact(typeof message === "string" ? message : "the source failed", secrets);
  const sqlstate = typeof sqlState === "string" && /^[0-9A-Z]{5}$/.test(sqlState) ? sqlState : undefined;
  const number = typeof errno === "number" ? errno : undefined;
  const extensions = { ...(sqlstate ? { sqlstate } : {}), ...(number !== undefined ? { errno: number } : {}) };
  if (number === ER.STATEMENT_TIMEOUT || number === ER.QUERY_TIMEOUT) return new ConnectorError("timeout", `the query ran past the connector's timeout (${timeoutSeconds} s) and was cancelled`, extensions);
  if (number === ER.READ_ONLY_TRANSACTION) return new ConnectorError("refused", `the source refused a write in its read-only transaction: ${text}`, extensions);
  if (number !== undefined && ER.PRIVILEGE.has(number)) return new ConnectorError("refused", `the source's user may not do this: ${text}`, extensions);
  if (code === "ETIMEDOUT") return new ConnectorError("timeout", `no connection within ${timeoutSeconds} s`);
  // Errors during the handshake (access denied 1045, unknown database 1049, too many connections) and lost connections.
  if (fatal === true || sqlstate?.startsWith("28") || sqlstate?.startsWith("08") || number === 1049 || number === 1040) {
    return new ConnectorError("unreachable", `the source refused the connection: ${text}`, extensions);
  }
  if (number !== undefined) return new ConnectorError("failed", `the source answered an error: ${text}`, extensions);
  return new ConnectorError("unreachable", `the source could not be reached: ${text}`);
}
