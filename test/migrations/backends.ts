// The two databases the migration suite runs on. Each gives superuser sessions for migrating and
// seeding, and a session acting as app_api for the row-level-security checks.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pgClientExec, pgliteExec, type SqlExec } from '../../scripts/lib/migrations';
import { createPglite } from '../../scripts/lib/pglite';

export interface Backend {
  /** Superuser session on the scratch database. */
  admin: SqlExec;
  /** Another superuser session, for concurrent runners (PGlite has one session: the same). */
  second: SqlExec;
  /** A session as app_api; open it only once migration 0001 has created the role. */
  openApi(): Promise<ApiSession>;
  close(): Promise<void>;
}

export interface ApiSession {
  db: SqlExec;
  /** Run first in each transaction to act as app_api ('' when logged in as app_api). */
  prelude: string;
}

/** Server reachable as a superuser; the scratch database is created and dropped here. */
const SERVER_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function serverBackend(): Promise<Backend> {
  const name = `migrations_test_${randomBytes(6).toString('hex')}`;
  const server = await connect(SERVER_URL);
  await server.query(`create database ${name}`);
  const superuser = new URL(SERVER_URL).username;
  const scratchUrl = (user: string) => {
    const url = new URL(SERVER_URL);
    url.username = user;
    url.pathname = `/${name}`;
    return url.toString();
  };
  const clients = [await connect(scratchUrl(superuser)), await connect(scratchUrl(superuser))];
  return {
    admin: pgClientExec(clients[0]!),
    second: pgClientExec(clients[1]!),
    async openApi() {
      const client = await connect(scratchUrl('app_api'));
      clients.push(client);
      return { db: pgClientExec(client), prelude: '' };
    },
    async close() {
      await Promise.all(clients.map((c) => c.end()));
      await server.query(`drop database if exists ${name} with (force)`);
      await server.end();
    },
  };
}

export async function pgliteBackend(): Promise<Backend> {
  const pglite = await createPglite();
  const db = pgliteExec(pglite);
  return {
    admin: db,
    second: db,
    // PGlite has no logins: SET LOCAL ROLE acts as app_api until the transaction ends.
    openApi: async () => ({ db, prelude: 'set local role app_api' }),
    close: () => pglite.close(),
  };
}

async function connect(connectionString: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  return client;
}
