/// <reference types="node" />
/**
 * Neon's SQL-over-HTTP protocol (`POST /sql`), as `@neondatabase/serverless` speaks it:
 * request headers carry the connection string and batch options, the JSON body one query or a
 * batch; the reply carries Postgres' field descriptions and text values, which the driver
 * parses itself, and Postgres errors come back as HTTP 400 with their fields.
 */
import type { IncomingHttpHeaders } from 'node:http';
import {
  ISOLATION_LEVELS, SqlError, type IsolationLevel, type QueryResult, type RunOptions, type SqlBackend, type SqlQuery,
} from './sql-backend';

export interface JsonReply {
  status: number;
  json: unknown;
}

export type NeonHandler = (headers: IncomingHttpHeaders, body: string) => Promise<JsonReply>;

/** Handles one `POST /sql`; failures that are not Postgres' own (bugs, lost servers) reject. */
export function createNeonHandler(sql: SqlBackend): NeonHandler {
  return async (headers, body) => {
    const connectionString = header(headers, 'neon-connection-string');
    if (!connectionString) return badRequest('missing Neon-Connection-String header');
    // The driver always asks for raw text; Neon's typed-JSON output is not reproduced here.
    if (header(headers, 'neon-raw-text-output') !== 'true') {
      return badRequest('this local endpoint serves only Neon-Raw-Text-Output: true');
    }
    const arrayMode = header(headers, 'neon-array-mode') === 'true';

    let request: { queries: SqlQuery[] } | SqlQuery;
    let batch: Omit<RunOptions, 'transaction'>;
    try {
      request = parseBody(body);
      batch = {
        isolationLevel: parseIsolationLevel(header(headers, 'neon-batch-isolation-level')),
        readOnly: parseFlag(headers, 'neon-batch-read-only'),
        deferrable: parseFlag(headers, 'neon-batch-deferrable'),
      };
    } catch (error) {
      return badRequest((error as Error).message);
    }

    try {
      if ('queries' in request) {
        const results = await sql.run(connectionString, request.queries, { transaction: true, ...batch });
        return { status: 200, json: { results: results.map((result) => toWire(result, arrayMode)) } };
      }
      const [result] = await sql.run(connectionString, [request], { transaction: false });
      return { status: 200, json: toWire(result!, arrayMode) };
    } catch (error) {
      if (error instanceof SqlError) return { status: 400, json: { message: error.message, ...error.fields } };
      throw error;
    }
  };
}

function toWire(result: QueryResult, arrayMode: boolean) {
  const names = result.fields.map((field) => field.name);
  return {
    fields: result.fields,
    command: result.command,
    rowCount: result.rowCount,
    rows: arrayMode ? result.rows : result.rows.map((row) => Object.fromEntries(row.map((value, i) => [names[i], value]))),
    rowAsArray: arrayMode,
  };
}

function parseBody(body: string): { queries: SqlQuery[] } | SqlQuery {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error('request body is not JSON');
  }
  if (isRecord(parsed) && Array.isArray(parsed.queries)) return { queries: parsed.queries.map(parseQuery) };
  return parseQuery(parsed);
}

function parseQuery(value: unknown): SqlQuery {
  if (!isRecord(value) || typeof value.query !== 'string') throw new Error('expected {query, params} or {queries: [...]}');
  const params = value.params ?? [];
  if (!Array.isArray(params)) throw new Error('params must be an array');
  return { query: value.query, params };
}

function parseIsolationLevel(value: string | undefined): IsolationLevel | undefined {
  if (value === undefined) return undefined;
  if (value in ISOLATION_LEVELS) return value as IsolationLevel;
  throw new Error(`unknown Neon-Batch-Isolation-Level: ${value}`);
}

function parseFlag(headers: IncomingHttpHeaders, name: string): boolean | undefined {
  const value = header(headers, name);
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw new Error(`${name} must be true or false`);
  return value === 'true';
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function badRequest(message: string): JsonReply {
  return { status: 400, json: { message } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
