// The database the npm scripts work on: DATABASE_URL (a Postgres server) when set, else the
// embedded PGlite database of `npm run dev` in .local/pglite.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { pgClientExec, pgliteExec, type SqlExec } from './migrations';
import { createPglite } from './pglite';

export const PGLITE_DIR = join(import.meta.dirname, '../../.local/pglite');

/** Runs `work` on the target database; `target` names it for the script's output. */
export async function withDatabase<T>(work: (db: SqlExec, target: string) => Promise<T>): Promise<T> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await work(pgClientExec(client), `${client.host}:${client.port}/${client.database}`);
    } finally {
      await client.end();
    }
  }
  await mkdir(PGLITE_DIR, { recursive: true });
  const pglite = await createPglite(PGLITE_DIR);
  try {
    return await work(pgliteExec(pglite), `PGlite ${PGLITE_DIR}`);
  } finally {
    await pglite.close();
  }
}
