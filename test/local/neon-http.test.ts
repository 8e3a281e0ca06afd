import { randomBytes } from 'node:crypto';
import { neon, neonConfig, NeonDbError, type NeonQueryFunction } from '@neondatabase/serverless';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../local/stack';

// The real @neondatabase/serverless driver against the local endpoint, once over a real Postgres
// server (a scratch database and login role made for this run) and once over embedded PGlite.
const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const run = randomBytes(4).toString('hex');
const APP_ROLE = `local_app_${run}`;

interface Target {
  /** Starts the stack; returns the admin and app connection strings the driver will send. */
  start(): Promise<{ stack: LocalStack; adminUrl: string; appUrl: string }>;
  cleanUp(): Promise<void>;
}

const postgresServer: Target = {
  async start() {
    const database = `local_neon_${run}`;
    await adminQuery(`CREATE DATABASE ${database}`);
    const adminUrl = withPath(SERVER_URL, database);
    const stack = await startLocalStack({ databaseUrl: adminUrl, spawnRedisServer: false });
    expect(stack.backends.sql).toBe('postgres');
    return { stack, adminUrl, appUrl: withUser(adminUrl, APP_ROLE) };
  },
  async cleanUp() {
    await adminQuery(`DROP DATABASE IF EXISTS local_neon_${run} WITH (FORCE)`);
    await adminQuery(`DROP ROLE IF EXISTS ${APP_ROLE}`);
  },
};

const pglite: Target = {
  async start() {
    const stack = await startLocalStack({ spawnRedisServer: false });
    expect(stack.backends.sql).toBe('pglite');
    // PGlite ignores host and database; the user part picks the role.
    const adminUrl = 'postgres://postgres@localhost:5432/postgres';
    return { stack, adminUrl, appUrl: withUser(adminUrl, APP_ROLE) };
  },
  async cleanUp() {},
};

describe.each([
  ['postgres', postgresServer],
  ['pglite', pglite],
] as const)('Neon SQL over HTTP on %s', (_kind, target) => {
  let stack: LocalStack;
  let adminUrl: string;
  let sql: NeonQueryFunction<false, false>;
  let appSql: NeonQueryFunction<false, false>;

  beforeAll(async () => {
    const started = await target.start();
    ({ stack, adminUrl } = started);
    neonConfig.fetchEndpoint = stack.neonFetchEndpoint;
    await stack.sql.run(adminUrl, [
      `CREATE ROLE ${APP_ROLE} LOGIN NOSUPERUSER`,
      'CREATE TABLE owners (id int PRIMARY KEY)',
      `CREATE TABLE items (
         id int PRIMARY KEY, name text UNIQUE, qty int CHECK (qty >= 0), owner_id int REFERENCES owners (id))`,
      `CREATE TABLE typed (
         u uuid, tags text[], doc jsonb, ip inet, at timestamptz, local_at timestamp, day date,
         amount numeric, big bigint, flag boolean, n int)`,
      `CREATE TABLE notes (owner text, body text)`,
      'ALTER TABLE notes ENABLE ROW LEVEL SECURITY',
      `CREATE POLICY own_notes ON notes USING (owner = current_setting('app.user', true))`,
      `GRANT SELECT, INSERT ON notes TO ${APP_ROLE}`,
      `INSERT INTO notes VALUES ('alice', 'a1'), ('alice', 'a2'), ('bob', 'b1')`,
      'INSERT INTO owners VALUES (1)',
    ].map((query) => ({ query, params: [] })), { transaction: true });
    sql = neon(adminUrl);
    appSql = neon(started.appUrl);
  });

  afterAll(async () => {
    await stack?.stop();
    await target.cleanUp();
  });

  it('runs tagged-template and .query() statements with parameters', async () => {
    expect(await sql`SELECT ${2}::int + ${3}::int AS sum, ${'x'} AS label`).toEqual([{ sum: 5, label: 'x' }]);
    expect(await sql.query('SELECT $1::text AS a, $2::int AS b', ['hi', 7])).toEqual([{ a: 'hi', b: 7 }]);
    expect(await sql.query('SELECT $1::int AS a', [null])).toEqual([{ a: null }]);
  });

  it('supports arrayMode and fullResults like Neon', async () => {
    expect(await sql.query('SELECT 1 AS a, 2 AS b', [], { arrayMode: true })).toEqual([[1, 2]]);
    const full = await sql.query('SELECT $1::int AS a', [1], { fullResults: true });
    expect(full).toMatchObject({ command: 'SELECT', rowCount: 1, rows: [{ a: 1 }] });
    expect(full.fields).toEqual([{ name: 'a', tableID: 0, columnID: 0, dataTypeID: 23, dataTypeSize: 4, dataTypeModifier: -1, format: 'text' }]);
    const insert = await sql.query('INSERT INTO owners VALUES (100), (101)', [], { fullResults: true });
    expect(insert).toMatchObject({ command: 'INSERT', rowCount: 2, rows: [] });
  });

  it('returns every column type as the driver parses it from Neon', async () => {
    const values = {
      u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      tags: ['a', 'b,c', 'd"e', 'ünï', null],
      doc: { a: 1, nested: { list: [true, null, 'x'] }, text: 'ü 漢字' },
      ip: '192.168.0.1/24',
      at: new Date('2024-02-29T12:34:56.789Z'),
      localAt: '2024-02-29 12:34:56.789',
      day: '2024-02-29',
      amount: '12345678901234567890.123456789',
      big: '9007199254740993',
      flag: true,
      n: -42,
    };
    await sql`INSERT INTO typed VALUES (${values.u}, ${values.tags}, ${values.doc}, ${values.ip}, ${values.at},
      ${values.localAt}, ${values.day}, ${values.amount}, ${values.big}, ${values.flag}, ${values.n})`;
    const [row] = await sql`SELECT * FROM typed`;
    expect(row).toEqual({
      u: values.u,
      tags: values.tags,
      doc: values.doc,
      ip: values.ip,
      at: values.at,
      // timestamp and date have no zone: the driver reads them as local time
      local_at: new Date(2024, 1, 29, 12, 34, 56, 789),
      day: new Date(2024, 1, 29),
      amount: values.amount, // numeric and bigint stay strings (no precision loss)
      big: values.big,
      flag: true,
      n: -42,
    });
  });

  it('commits a transaction batch in one request', async () => {
    const results = await sql.transaction([
      sql`INSERT INTO items (id, name, qty, owner_id) VALUES (1, 'one', 1, 1) RETURNING id`,
      sql`INSERT INTO items (id, name, qty, owner_id) VALUES (2, 'two', 2, 1) RETURNING id`,
      sql`SELECT count(*)::int AS n FROM items`,
    ]);
    expect(results).toEqual([[{ id: 1 }], [{ id: 2 }], [{ n: 2 }]]);
  });

  it('rolls the whole batch back when one statement fails', async () => {
    await expect(
      sql.transaction([
        sql`INSERT INTO items (id, name, qty, owner_id) VALUES (10, 'ten', 1, 1)`,
        sql`INSERT INTO items (id, name, qty, owner_id) VALUES (11, 'one', 1, 1)`, // duplicate name
      ]),
    ).rejects.toBeInstanceOf(NeonDbError);
    expect(await sql`SELECT id FROM items WHERE id IN (10, 11)`).toEqual([]);
  });

  it('applies the batch isolation level and read-only mode', async () => {
    const results = await sql.transaction(
      [sql`SELECT current_setting('transaction_isolation') AS iso, current_setting('transaction_read_only') AS ro`],
      { isolationLevel: 'Serializable', readOnly: true },
    );
    expect(results).toEqual([[{ iso: 'serializable', ro: 'on' }]]);
    const error = await sql.transaction([sql`INSERT INTO owners VALUES (2)`], { readOnly: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: '25006' });
  });

  it.each([
    ['unique', `INSERT INTO items (id, name, qty, owner_id) VALUES (20, 'one', 1, 1)`, '23505', 'items_name_key'],
    ['check', `INSERT INTO items (id, name, qty, owner_id) VALUES (21, 'neg', -1, 1)`, '23514', 'items_qty_check'],
    ['foreign key', `INSERT INTO items (id, name, qty, owner_id) VALUES (22, 'orphan', 1, 999)`, '23503', 'items_owner_id_fkey'],
  ])('reports a %s violation as NeonDbError with Postgres fields', async (_name, statement, code, constraint) => {
    const error = await sql.query(statement).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NeonDbError);
    expect(error).toMatchObject({ code, constraint, table: 'items', schema: 'public', severity: 'ERROR', detail: expect.any(String) });
  });

  it('reports syntax errors with their position', async () => {
    const error = await sql.query('SELECT FROM WHERE').catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'NeonDbError', code: '42601', position: expect.any(String) });
  });

  it('runs queries as the role named in the connection string, under row-level security', async () => {
    expect(await appSql`SELECT current_user AS who`).toEqual([{ who: APP_ROLE }]);
    const [, visible] = await appSql.transaction([
      appSql`SELECT set_config('app.user', 'alice', true)`,
      appSql`SELECT body FROM notes ORDER BY body`,
    ]);
    expect(visible).toEqual([{ body: 'a1' }, { body: 'a2' }]);
    expect(await appSql`SELECT current_user AS who`).toEqual([{ who: APP_ROLE }]); // not stuck in the batch
    expect(await sql`SELECT count(*)::int AS n FROM notes`).toEqual([{ n: 3 }]); // superuser bypasses RLS
    await expect(appSql`SELECT * FROM items`).rejects.toMatchObject({ code: '42501' });
  });

  it('speaks the wire format itself: fields, rowAsArray and 400 errors', async () => {
    const headers = { 'Neon-Connection-String': adminUrl, 'Neon-Raw-Text-Output': 'true' };
    const ok = await fetch(stack.neonFetchEndpoint, {
      method: 'POST',
      headers: { ...headers, 'Neon-Array-Mode': 'false' },
      body: JSON.stringify({ queries: [{ query: 'SELECT $1::int AS a, NULL::text AS b', params: ['1'] }] }),
    });
    expect(await ok.json()).toEqual({
      results: [{
        command: 'SELECT',
        rowCount: 1,
        rowAsArray: false,
        rows: [{ a: '1', b: null }],
        fields: [
          { name: 'a', tableID: 0, columnID: 0, dataTypeID: 23, dataTypeSize: 4, dataTypeModifier: -1, format: 'text' },
          { name: 'b', tableID: 0, columnID: 0, dataTypeID: 25, dataTypeSize: -1, dataTypeModifier: -1, format: 'text' },
        ],
      }],
    });
    const failed = await fetch(stack.neonFetchEndpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: 'SELECT 1; SELECT 2', params: [] }), // one statement per query, as on Neon
    });
    expect(failed.status).toBe(400);
    expect(await failed.json()).toMatchObject({ code: '42601', message: expect.stringContaining('multiple commands') });
  });
});

async function adminQuery(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

function withPath(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function withUser(url: string, user: string): string {
  const parsed = new URL(url);
  parsed.username = user;
  return parsed.toString();
}
