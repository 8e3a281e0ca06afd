// Runs the plain SQL migrations in migrations/ (NNNN_name.up.sql + NNNN_name.down.sql).
// Each file runs in its own transaction together with its row in public.schema_migrations, so a
// migration is either fully applied and recorded or not at all. A session-level advisory lock
// makes concurrent runners (two deploys, two test workers) take turns; the second then finds
// nothing pending.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PGliteInterface } from '@electric-sql/pglite';
import type { ClientBase } from 'pg';

/** The two calls the runner needs; pg.Client and PGlite fit through the adapters below. */
export interface SqlExec {
  exec(sql: string): Promise<void>;
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

export interface MigrateOptions {
  dir?: string;
  log?: (line: string) => void;
}

export interface RollbackOptions extends MigrateOptions {
  /** How many of the latest applied migrations to roll back (default 1). */
  steps?: number;
}

export const DEFAULT_MIGRATIONS_DIR = join(import.meta.dirname, '../../migrations');

// Arbitrary constant shared by every runner of this project: pg_advisory_lock(bigint).
const LOCK_KEY = 4_209_071_531;

export interface MigrationFile {
  name: string;
  up: string;
  down: string;
  checksum: string;
}

interface AppliedRow {
  name: string;
  checksum: string;
}

const FILE_PATTERN = /^(\d{4}_[a-z0-9_]+)\.(up|down)\.sql$/;

/** Reads migrations/ in name order; every up file must have its down file and vice versa. */
export async function readMigrations(dir = DEFAULT_MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const pairs = new Map<string, { up?: string; down?: string }>();
  for (const file of await readdir(dir)) {
    const match = FILE_PATTERN.exec(file);
    if (!match) continue;
    const name = match[1]!;
    const pair = pairs.get(name) ?? {};
    pair[match[2] as 'up' | 'down'] = await readFile(join(dir, file), 'utf8');
    pairs.set(name, pair);
  }
  return [...pairs.keys()].sort().map((name) => {
    const { up, down } = pairs.get(name)!;
    if (up === undefined || down === undefined) {
      throw new Error(`migration ${name}: needs both ${name}.up.sql and ${name}.down.sql`);
    }
    // Line endings normalised so a Windows checkout does not look like an edit.
    return { name, up, down, checksum: sha256(up.replace(/\r\n/g, '\n')) };
  });
}

/** Applies pending migrations in name order; returns the names applied. */
export async function migrateUp(db: SqlExec, opts: MigrateOptions = {}): Promise<string[]> {
  const files = await readMigrations(opts.dir);
  return withLock(db, async () => {
    const applied = await appliedMigrations(db);
    verifyApplied(files, applied);
    const done = new Set(applied.map((row) => row.name));
    const names: string[] = [];
    for (const file of files.filter((f) => !done.has(f.name))) {
      await inTransaction(db, file.name, 'up', async () => {
        await db.exec(file.up);
        await db.query('insert into public.schema_migrations (name, checksum) values ($1, $2)', [
          file.name,
          file.checksum,
        ]);
      });
      opts.log?.(`applied ${file.name}`);
      names.push(file.name);
    }
    return names;
  });
}

/** Rolls back the latest applied migrations, newest first; returns the names rolled back. */
export async function migrateDown(db: SqlExec, opts: RollbackOptions = {}): Promise<string[]> {
  const steps = opts.steps ?? 1;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${steps}`);
  const files = new Map((await readMigrations(opts.dir)).map((f) => [f.name, f]));
  return withLock(db, async () => {
    const latest = (await appliedMigrations(db)).reverse().slice(0, steps);
    const names: string[] = [];
    for (const { name } of latest) {
      const file = files.get(name);
      if (!file) throw new Error(`migration ${name} is applied but has no files in the migrations directory`);
      await inTransaction(db, name, 'down', async () => {
        await db.exec(file.down);
        await db.query('delete from public.schema_migrations where name = $1', [name]);
      });
      opts.log?.(`rolled back ${name}`);
      names.push(name);
    }
    return names;
  });
}

/** Wraps a pg client (or pool client). One adapter per client, see withLock. */
export function pgClientExec(client: ClientBase): SqlExec {
  return cachedAdapter(client, () => ({
    async exec(sql) {
      await client.query(sql);
    },
    async query<T>(sql: string, params?: unknown[]) {
      const result = await client.query(sql, params);
      return { rows: result.rows as T[] };
    },
  }));
}

/** Wraps a PGlite instance. One adapter per instance, see withLock. */
export function pgliteExec(pglite: PGliteInterface): SqlExec {
  return cachedAdapter(pglite, () => ({
    async exec(sql) {
      await pglite.exec(sql);
    },
    query: <T>(sql: string, params?: unknown[]) => pglite.query<T>(sql, params),
  }));
}

const adapters = new WeakMap<object, SqlExec>();

function cachedAdapter(handle: object, create: () => SqlExec): SqlExec {
  let adapter = adapters.get(handle);
  if (!adapter) {
    adapter = create();
    adapters.set(handle, adapter);
  }
  return adapter;
}

// Advisory locks belong to a session and are re-entrant, so they only separate different
// connections. Runs on the same connection (PGlite has only one) are chained in-process instead:
// otherwise their BEGIN/COMMITs would interleave.
const sessionQueues = new WeakMap<SqlExec, Promise<unknown>>();

async function withLock<T>(db: SqlExec, work: () => Promise<T>): Promise<T> {
  const previous = sessionQueues.get(db) ?? Promise.resolve();
  const run = previous
    .catch(() => undefined) // the previous run's failure is reported to its own caller
    .then(async () => {
      await db.query(`select pg_advisory_lock(${LOCK_KEY})`);
      try {
        // Created under the lock: two concurrent CREATE TABLE IF NOT EXISTS can still collide.
        await db.exec(`create table if not exists public.schema_migrations (
          name text primary key,
          applied_at timestamptz default now(),
          checksum text
        )`);
        return await work();
      } finally {
        await db.query(`select pg_advisory_unlock(${LOCK_KEY})`);
      }
    });
  sessionQueues.set(db, run);
  return run;
}

async function appliedMigrations(db: SqlExec): Promise<AppliedRow[]> {
  const { rows } = await db.query<AppliedRow>('select name, checksum from public.schema_migrations order by name');
  return rows;
}

// An applied file must not change: the change would never run here but would run on a fresh
// database, so the two would drift apart. Fix forward with a new migration instead.
function verifyApplied(files: MigrationFile[], applied: AppliedRow[]): void {
  const byName = new Map(files.map((f) => [f.name, f]));
  for (const row of applied) {
    const file = byName.get(row.name);
    if (!file) {
      throw new Error(`migration ${row.name} is applied but ${row.name}.up.sql is missing (database newer than this code?)`);
    }
    if (file.checksum !== row.checksum) {
      throw new Error(`migration ${row.name}.up.sql changed after it was applied (checksum ${row.checksum} → ${file.checksum})`);
    }
  }
}

async function inTransaction(db: SqlExec, name: string, direction: 'up' | 'down', work: () => Promise<void>): Promise<void> {
  await db.exec('begin');
  try {
    await work();
    await db.exec('commit');
  } catch (error) {
    await db.exec('rollback').catch(() => undefined); // report the error that caused it
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`migration ${name}.${direction}.sql failed: ${reason}`, { cause: error });
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
