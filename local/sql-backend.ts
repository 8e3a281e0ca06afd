/// <reference types="node" />
/**
 * Where the local Neon endpoint runs SQL: a real Postgres server, or embedded PGlite.
 * Both are driven through node-postgres (PGlite via its node-postgres adapter), so field
 * descriptions, command tags and error fields come from the same protocol code either way.
 */
import type { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import pg from 'pg';
import { pgClientExec, pgliteExec, type SqlExec } from '../scripts/lib/migrations';
import { createPglite } from '../scripts/lib/pglite';

export interface SqlQuery {
  query: string;
  params: unknown[];
}

/** The isolation level names Neon's `Neon-Batch-Isolation-Level` header carries. */
export const ISOLATION_LEVELS = {
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Serializable: 'SERIALIZABLE',
} as const;
export type IsolationLevel = keyof typeof ISOLATION_LEVELS;

export interface RunOptions {
  /** true: all queries in one transaction (a Neon batch); false: each one autocommits. */
  transaction: boolean;
  isolationLevel?: IsolationLevel;
  readOnly?: boolean;
  deferrable?: boolean;
}

/** A column as Neon describes it; `format` is always text because every value is sent as text. */
export interface FieldDescription {
  name: string;
  tableID: number;
  columnID: number;
  dataTypeID: number;
  dataTypeSize: number;
  dataTypeModifier: number;
  format: 'text';
}

/** One statement's result: values in Postgres' text form, as Neon's raw text output sends them. */
export interface QueryResult {
  command: string;
  rowCount: number | null;
  fields: FieldDescription[];
  rows: (string | null)[][];
}

export interface SqlBackend {
  kind: 'postgres' | 'pglite';
  /** `connectionString` names the role (and, for Postgres, the database) the queries run as. */
  run(connectionString: string, queries: SqlQuery[], opts: RunOptions): Promise<QueryResult[]>;
  /** Runs `fn` with the administrative connection (migrations, setup), not as the API role. */
  admin<T>(fn: (db: SqlExec) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The ErrorResponse fields Neon forwards next to `message`. */
export const POSTGRES_ERROR_FIELDS = [
  'severity', 'code', 'detail', 'hint', 'position', 'internalPosition', 'internalQuery', 'where',
  'schema', 'table', 'column', 'dataType', 'constraint', 'file', 'line', 'routine',
] as const;
export type PostgresErrorFields = Partial<Record<(typeof POSTGRES_ERROR_FIELDS)[number], string>>;

/** An error Postgres reported (it has a SQLSTATE), as opposed to a local failure. */
export class SqlError extends Error {
  constructor(message: string, readonly fields: PostgresErrorFields) {
    super(message);
    this.name = 'SqlError';
  }
}

/** Never parse: the endpoint forwards Postgres' text and the driver parses it, as with Neon. */
const RAW_TEXT: pg.CustomTypesConfig = { getTypeParser: () => (value: string) => value };

/** Postgres when `databaseUrl` answers within ~500 ms, else PGlite (in `pgliteDir`, or in memory). */
export async function openSqlBackend(opts: { databaseUrl?: string; pgliteDir?: string }): Promise<SqlBackend> {
  if (opts.databaseUrl && (await canConnect(opts.databaseUrl))) return new PostgresBackend(opts.databaseUrl);
  return PgliteBackend.open(opts.pgliteDir);
}

async function canConnect(connectionString: string): Promise<boolean> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 500 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A pool per connection string: the Worker's string picks login role and database, as on Neon. */
class PostgresBackend implements SqlBackend {
  readonly kind = 'postgres';
  readonly #pools = new Map<string, pg.Pool>();

  constructor(private readonly adminUrl: string) {}

  async admin<T>(fn: (db: SqlExec) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.adminUrl });
    await client.connect();
    try {
      return await fn(pgClientExec(client));
    } finally {
      await client.end();
    }
  }

  async run(connectionString: string, queries: SqlQuery[], opts: RunOptions): Promise<QueryResult[]> {
    const client = await this.#pool(connectionString).connect().catch(rethrowAsSqlError);
    try {
      return await execute(client, queries, opts);
    } finally {
      // A session left inside a transaction (a lone `BEGIN`) must not go back to the pool.
      client.release(client.getTransactionStatus() !== 'I');
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((pool) => pool.end()));
    this.#pools.clear();
  }

  #pool(connectionString: string): pg.Pool {
    let pool = this.#pools.get(connectionString);
    if (!pool) {
      pool = new pg.Pool({ connectionString, types: RAW_TEXT, max: 4, idleTimeoutMillis: 10_000 });
      pool.on('error', () => {}); // an idle client dropped by the server is simply replaced
      this.#pools.set(connectionString, pool);
    }
    return pool;
  }
}

/**
 * PGlite has one session, owned by a superuser: requests take turns, and each runs as the role
 * its connection string names (SET ROLE), so row-level security applies as it would on Neon.
 */
class PgliteBackend implements SqlBackend {
  readonly kind = 'pglite';
  #turn: Promise<unknown> = Promise.resolve();

  private constructor(private readonly db: PGlite, private readonly client: pg.Client) {}

  static async open(dataDir?: string): Promise<PgliteBackend> {
    const db = await createPglite(dataDir); // with the extensions the migrations create
    const client = new pg.Client({ ...createPgConfig(db), types: RAW_TEXT } as pg.ClientConfig);
    await client.connect();
    return new PgliteBackend(db, client);
  }

  run(connectionString: string, queries: SqlQuery[], opts: RunOptions): Promise<QueryResult[]> {
    const role = decodeURIComponent(new URL(connectionString).username) || undefined;
    return this.#exclusive(async () => {
      if (opts.transaction) return execute(this.client, queries, opts, role);
      try {
        if (role) await this.client.query(`SET ROLE ${quoteIdent(role)}`).catch(rethrowAsSqlError);
        return await execute(this.client, queries, opts);
      } finally {
        // A lone `BEGIN` must not leave the shared session inside a transaction (nor its role).
        if (this.client.getTransactionStatus() !== 'I') await this.client.query('ROLLBACK');
        await this.client.query('RESET ROLE');
      }
    });
  }

  admin<T>(fn: (db: SqlExec) => Promise<T>): Promise<T> {
    return this.#exclusive(() => fn(pgliteExec(this.db)));
  }

  async close(): Promise<void> {
    await this.#exclusive(async () => {
      await this.client.end();
      await this.db.close();
    });
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#turn.then(fn);
    this.#turn = result.catch(() => {});
    return result;
  }
}

/**
 * Runs queries the way Neon does: a batch inside BEGIN … COMMIT (ROLLBACK on any error), single
 * queries on their own. `localRole` is taken for the batch's duration (PGlite's shared session).
 */
async function execute(client: pg.ClientBase, queries: SqlQuery[], opts: RunOptions, localRole?: string): Promise<QueryResult[]> {
  const results: QueryResult[] = [];
  try {
    if (!opts.transaction) {
      for (const query of queries) results.push(await statement(client, query));
      return results;
    }
    await client.query(beginStatement(opts));
    try {
      if (localRole) await client.query(`SET LOCAL ROLE ${quoteIdent(localRole)}`);
      for (const query of queries) results.push(await statement(client, query));
      await client.query('COMMIT');
      return results;
    } catch (error) {
      // The statement's error is the one to report; if ROLLBACK fails too, the session is gone.
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  } catch (error) {
    return rethrowAsSqlError(error);
  }
}

async function statement(client: pg.ClientBase, { query, params }: SqlQuery): Promise<QueryResult> {
  // Extended protocol even without params, as Neon: one statement per query, never a script.
  const config = { text: query, values: params, rowMode: 'array', queryMode: 'extended' } as pg.QueryArrayConfig;
  const result = await client.query<(string | null)[]>(config);
  return {
    command: result.command,
    rowCount: result.rowCount,
    fields: result.fields.map((field) => ({
      name: field.name,
      tableID: field.tableID,
      columnID: field.columnID,
      dataTypeID: field.dataTypeID,
      dataTypeSize: field.dataTypeSize,
      dataTypeModifier: field.dataTypeModifier,
      format: 'text',
    })),
    rows: result.rows,
  };
}

function beginStatement({ isolationLevel, readOnly, deferrable }: RunOptions): string {
  let sql = 'BEGIN';
  if (isolationLevel) sql += ` ISOLATION LEVEL ${ISOLATION_LEVELS[isolationLevel]}`;
  if (readOnly !== undefined) sql += readOnly ? ' READ ONLY' : ' READ WRITE';
  if (deferrable !== undefined) sql += deferrable ? ' DEFERRABLE' : ' NOT DEFERRABLE';
  return sql;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Postgres errors (five-character SQLSTATE) become SqlError; anything else is a local fault. */
function rethrowAsSqlError(error: unknown): never {
  const source = error as Record<string, unknown>;
  if (error instanceof Error && typeof source.code === 'string' && /^[0-9A-Z]{5}$/.test(source.code)) {
    const fields: PostgresErrorFields = {};
    for (const key of POSTGRES_ERROR_FIELDS) {
      const value = source[key];
      if (typeof value === 'string') fields[key] = value;
    }
    throw new SqlError(error.message, fields);
  }
  throw error;
}
