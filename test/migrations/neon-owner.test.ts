// Migrations as on Neon, whose owner role (neondb_owner) is not a superuser: Neon's compute_ctl
// creates it INHERIT CREATEROLE CREATEDB BYPASSRLS REPLICATION, and it owns the database. A role
// like that (unique per run, as roles are cluster-wide) and a database it owns are made on the
// real server; `npm run deploy:db` then migrates it and sets app_api's password, the runner rolls
// everything back and applies it again as that role, and app_api works through row-level security.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDown, migrateUp, pgClientExec, readMigrations, type SqlExec } from '../../scripts/lib/migrations';
import { matchesVerifier, scramVerifier } from '../../scripts/deploy/scram';

const SERVER_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROOT = new URL('../..', import.meta.url).pathname;
const ALICE = '0a11ce00-0000-4000-8000-00000000000a';
const BOB = '0b0b0000-0000-4000-8000-00000000000b';

describe('migrations as a non-superuser owner (Neon)', () => {
  const suffix = randomBytes(5).toString('hex');
  const ownerRole = `neon_owner_${suffix}`;
  const database = `neon_owner_db_${suffix}`;
  let server: pg.Client;
  let owner: pg.Client;
  let dir: string;
  let secretsFile: string;

  const urlAs = (user: string) => {
    const url = new URL(SERVER_URL);
    url.username = user;
    url.password = '';
    url.pathname = `/${database}`;
    return url.toString();
  };

  async function deployDb(...args: string[]) {
    try {
      const { stdout, stderr } = await promisify(execFile)(
        join(ROOT, 'node_modules/.bin/tsx'),
        ['scripts/deploy/database.ts', '--secrets-file', secretsFile, ...args],
        { cwd: ROOT, env: { ...process.env, NEON_OWNER_URL: urlAs(ownerRole) } },
      );
      return { code: 0, output: stdout + stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, output: e.stdout + e.stderr };
    }
  }

  async function storedPassword(): Promise<string> {
    const { rows } = await server.query<{ verifier: string }>(`select rolpassword as verifier from pg_authid where rolname = 'app_api'`);
    return rows[0]!.verifier;
  }

  async function secretsDbUrl(): Promise<URL> {
    const line = (await readFile(secretsFile, 'utf8')).split('\n').find((l) => l.startsWith('DB_URL='))!;
    return new URL(line.slice('DB_URL='.length));
  }

  beforeAll(async () => {
    server = new pg.Client({ connectionString: SERVER_URL });
    await server.connect();
    await server.query(`create role ${ownerRole} login inherit createrole createdb bypassrls replication nosuperuser`);
    await server.query(`create database ${database} owner ${ownerRole}`);
    owner = new pg.Client({ connectionString: urlAs(ownerRole) });
    await owner.connect();
    dir = await mkdtemp(join(tmpdir(), 'deploy-db-'));
    secretsFile = join(dir, 'secrets.env');
  });

  afterAll(async () => {
    await owner?.end();
    await server.query(`drop database if exists ${database} with (force)`);
    await server.query(`drop role if exists ${ownerRole}`);
    await server.end();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs as a role that is not a superuser', async () => {
    const { rows } = await owner.query('select rolsuper, rolcreaterole, rolbypassrls from pg_roles where rolname = current_user');
    expect(rows[0]).toEqual({ rolsuper: false, rolcreaterole: true, rolbypassrls: true });
  });

  it('deploy:db applies every migration, sets app_api a password and writes DB_URL without printing it', async () => {
    const all = (await readMigrations()).map((m) => m.name);
    const run = await deployDb();
    expect(run.code, run.output).toBe(0);
    for (const name of all) expect(run.output).toContain(`applied ${name}`);

    const dbUrl = await secretsDbUrl();
    expect(dbUrl.username).toBe('app_api');
    expect(dbUrl.pathname).toBe(`/${database}`);
    expect(dbUrl.password.length).toBeGreaterThanOrEqual(40);
    expect(run.output).not.toContain(dbUrl.password);
    expect(matchesVerifier(dbUrl.password, await storedPassword())).toBe(true);
    expect((await stat(secretsFile)).mode & 0o777).toBe(0o600);
  });

  it('deploy:db run again applies nothing and keeps the password; --rotate changes it', async () => {
    const before = (await secretsDbUrl()).password;
    const again = await deployDb();
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain('no migration pending');
    expect(again.output).toContain('password kept');
    expect((await secretsDbUrl()).password).toBe(before);
    expect(matchesVerifier(before, await storedPassword())).toBe(true);

    const rotated = await deployDb('--rotate');
    expect(rotated.code, rotated.output).toBe(0);
    const after = (await secretsDbUrl()).password;
    expect(after).not.toBe(before);
    expect(matchesVerifier(after, await storedPassword())).toBe(true);
    expect(matchesVerifier(before, await storedPassword())).toBe(false);
  });

  it('deploy:db refuses an owner without BYPASSRLS, whose jobs would find no rows', async () => {
    await server.query(`alter role ${ownerRole} nobypassrls`);
    try {
      const run = await deployDb();
      expect(run.code).toBe(2);
      expect(run.output).toContain(`role ${ownerRole} lacks BYPASSRLS`);
    } finally {
      await server.query(`alter role ${ownerRole} bypassrls`);
    }
  });

  it('rolls every migration back and applies them again as that role', async () => {
    const db = pgClientExec(owner);
    const all = (await readMigrations()).map((m) => m.name);
    expect(await migrateDown(db, { steps: all.length })).toEqual([...all].reverse());
    const { rows } = await owner.query(`select count(*)::int as n from pg_namespace where nspname in ('app', 'exam', 'hub', 'seedtest')`);
    expect(rows[0]).toEqual({ n: 0 });
    expect(await migrateUp(db)).toEqual(all);
    expect(await migrateUp(db)).toEqual([]);
  });

  describe('app_api afterwards', () => {
    let api: pg.Client;

    beforeAll(async () => {
      // The owner has BYPASSRLS, as on Neon: it seeds across users like an operator would.
      for (const user of [ALICE, BOB]) {
        await owner.query(
          `insert into exam.sessions (id, user_id, lab_id, level, engine_type, policy_id, mode, status, updated_at)
           values (gen_random_uuid(), $1, gen_random_uuid(), 'BASIC', 'JUPYTER', gen_random_uuid(), 'PRACTICE', 'RUNNING', now() - interval '2 hours')`,
          [user],
        );
      }
      api = new pg.Client({ connectionString: urlAs('app_api') });
      await api.connect();
    });
    afterAll(() => api?.end());

    async function asUser<T>(user: string | undefined, work: (db: SqlExec) => Promise<T>): Promise<T> {
      await api.query('begin');
      try {
        if (user) await api.query(`select set_config('app.user_id', $1, true)`, [user]);
        return await work(pgClientExec(api));
      } finally {
        await api.query('rollback');
      }
    }

    it('sees only its own rows through row-level security', async () => {
      const users = async (db: SqlExec) => (await db.query<{ user_id: string }>('select user_id from exam.sessions')).rows;
      expect(await asUser(ALICE, users)).toEqual([{ user_id: ALICE }]);
      expect(await asUser(undefined, users)).toEqual([]);
    });

    it('runs the scheduled jobs, which act through functions the non-superuser owner owns', async () => {
      const abandoned = await asUser(undefined, async (db) => {
        const { rows } = await db.query<{ n: number }>('select exam.abandon_idle_sessions(60) as n');
        return rows[0]!.n;
      });
      expect(abandoned).toBe(2);
      // Partition DDL as the owner, on behalf of a request (ingest makes next months' partitions).
      const partition = await asUser(ALICE, async (db) => {
        const month = `(current_date + interval '20 months')::date`;
        const created = (await db.query<{ created: boolean }>(`select hub.create_learning_history_partition(${month}) as created`)).rows[0]!;
        const { rows } = await db.query<{ owner: string }>(
          `select pg_get_userbyid(relowner) as owner from pg_class
            where oid = to_regclass('hub.learning_history_' || to_char(${month}, 'YYYY_MM'))`,
        );
        return { ...created, ...rows[0] };
      });
      expect(partition).toEqual({ created: true, owner: ownerRole });
    });
  });
});

describe('the SCRAM verifier deploy:db sends', () => {
  it('is the one Postgres computes for the same password and salt', async () => {
    const server = new pg.Client({ connectionString: SERVER_URL });
    await server.connect();
    const role = `scram_check_${randomBytes(5).toString('hex')}`;
    try {
      await server.query(`set password_encryption = 'scram-sha-256'`);
      await server.query(`create role ${role} password 'correct horse battery staple'`);
      const { rows } = await server.query<{ verifier: string }>('select rolpassword as verifier from pg_authid where rolname = $1', [role]);
      const verifier = rows[0]!.verifier;
      const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(verifier)!;
      expect(scramVerifier('correct horse battery staple', Buffer.from(salt!, 'base64'), Number(iterations))).toBe(verifier);
      expect(matchesVerifier('correct horse battery staple', verifier)).toBe(true);
      expect(matchesVerifier('correct horse battery stapler', verifier)).toBe(false);
    } finally {
      await server.query(`drop role if exists ${role}`);
      await server.end();
    }
  });
});
