// The migration tests, run once per backend (server.test.ts, pglite.test.ts). Tests in a file run
// in order and share one scratch database: the lifecycle tests end migrated, the RLS tests use it.
import { appendFile, cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_MIGRATIONS_DIR,
  migrateDown,
  migrateUp,
  readMigrations,
  type SqlExec,
} from '../../scripts/lib/migrations';
import type { ApiSession, Backend } from './backends';

// The spec's per-user exam tables, seeded and counted below; later migrations add more exam tables,
// which the RLS check covers by discovery.
const EXAM_TABLES = ['exam_profiles', 'plans', 'plan_tasks', 'sessions', 'step_submissions', 'audit_policy_events'];
const ALICE = '0a11ce00-0000-4000-8000-000000000001';
const BOB = '0b0b0000-0000-4000-8000-000000000002';
const CAROL = '0ca20100-0000-4000-8000-000000000003';

export function migrationSuite(openBackend: () => Promise<Backend>): void {
  let backend: Backend;
  let all: string[];

  beforeAll(async () => {
    backend = await openBackend();
    all = (await readMigrations()).map((m) => m.name);
  });
  afterAll(() => backend?.close());

  describe('runner', () => {
    it('applies every migration on a fresh database', async () => {
      expect(await migrateUp(backend.admin)).toEqual(all);
      expect(await appliedNames(backend.admin)).toEqual(all);
    });

    it('applies nothing when re-run', async () => {
      expect(await migrateUp(backend.admin)).toEqual([]);
    });

    it('runs every up and down file twice without error', async () => {
      const before = await catalog(backend.admin);
      for (const m of await readMigrations()) await backend.admin.exec(m.up);
      expect(await catalog(backend.admin)).toEqual(before);

      expect(await migrateDown(backend.admin, { steps: all.length })).toEqual([...all].reverse());
      for (const m of (await readMigrations()).reverse()) await backend.admin.exec(m.down);
      expect(await migrateDown(backend.admin)).toEqual([]);
      expect(await migrateUp(backend.admin)).toEqual(all);
    });

    it('returns to the same catalog after down and up', async () => {
      const before = await catalog(backend.admin);
      await migrateDown(backend.admin, { steps: all.length });
      const { rows } = await backend.admin.query<{ n: number }>(
        `select count(*)::int as n from pg_namespace where nspname in ('exam', 'app')`,
      );
      expect(rows[0]!.n).toBe(0);
      await migrateUp(backend.admin);
      expect(await catalog(backend.admin)).toEqual(before);
    });

    it('applies each migration once when two runners start together', async () => {
      await migrateDown(backend.admin, { steps: all.length });
      const results = await Promise.all([migrateUp(backend.admin), migrateUp(backend.second)]);
      expect(results.flat().sort()).toEqual(all);
      expect(results.some((names) => names.length === 0)).toBe(true);
      expect(await appliedNames(backend.admin)).toEqual(all);
    });

    it('refuses an applied file that changed, naming it', async () => {
      await withMigrationsCopy(async (dir) => {
        await appendFile(join(dir, '0002_exam.up.sql'), '\n-- edited after it was applied\n');
        await expect(migrateUp(backend.admin, { dir })).rejects.toThrow(/0002_exam\.up\.sql changed/);
      });
    });

    it('rolls a failing migration back completely, naming it', async () => {
      await withMigrationsCopy(async (dir) => {
        await writeFile(join(dir, '9999_broken.up.sql'), 'create table public.half_done (id int);\nselect 1 / 0;\n');
        await writeFile(join(dir, '9999_broken.down.sql'), 'drop table if exists public.half_done;\n');
        await expect(migrateUp(backend.admin, { dir })).rejects.toThrow(/9999_broken\.up\.sql failed: division by zero/);
      });
      const { rows } = await backend.admin.query<{ t: string | null }>(`select to_regclass('public.half_done')::text as t`);
      expect(rows[0]!.t).toBeNull();
      expect(await appliedNames(backend.admin)).toEqual(all);
    });
  });

  describe('roles and row-level security', () => {
    let api: ApiSession;
    let bobPlan: string;
    let bobSession: string;
    let aliceSession: string;

    beforeAll(async () => {
      await seedUser(backend.admin, ALICE);
      await seedUser(backend.admin, BOB);
      const sessionOf = async (user: string) =>
        (await backend.admin.query<{ id: string }>('select id from exam.sessions where user_id = $1', [user])).rows[0]!.id;
      bobPlan = (await backend.admin.query<{ id: string }>('select id from exam.plans where user_id = $1', [BOB])).rows[0]!.id;
      bobSession = await sessionOf(BOB);
      aliceSession = await sessionOf(ALICE);
      api = await backend.openApi();
    });

    // One transaction as app_api with the given request identity; always rolled back.
    async function asApi<T>(identity: { user?: string; roles?: string }, work: (db: SqlExec) => Promise<T>): Promise<T> {
      await api.db.exec('begin');
      try {
        if (api.prelude) await api.db.exec(api.prelude);
        if (identity.user) await api.db.query(`select set_config('app.user_id', $1, true)`, [identity.user]);
        if (identity.roles) await api.db.query(`select set_config('app.roles', $1, true)`, [identity.roles]);
        return await work(api.db);
      } finally {
        await api.db.exec('rollback');
      }
    }

    it('connects as app_api, which owns nothing and cannot bypass row-level security', async () => {
      const { rows: [role] } = await asApi({}, (db) =>
        db.query<{ user: string; rolsuper: boolean; rolbypassrls: boolean; rolcreatedb: boolean; rolcreaterole: boolean }>(
          `select current_user as user, rolsuper, rolbypassrls, rolcreatedb, rolcreaterole
           from pg_roles where rolname = current_user`,
        ),
      );
      expect(role).toEqual({ user: 'app_api', rolsuper: false, rolbypassrls: false, rolcreatedb: false, rolcreaterole: false });

      const { rows: owned } = await backend.admin.query<{ n: number }>(
        `select count(*)::int as n from pg_class where relowner = 'app_api'::regrole`,
      );
      expect(owned[0]!.n).toBe(0);
      const { rows: tables } = await backend.admin.query<{ tablename: string; tableowner: string; rowsecurity: boolean; forced: boolean }>(
        `select t.tablename, t.tableowner, t.rowsecurity, c.relforcerowsecurity as forced
         from pg_tables t join pg_class c on c.oid = format('%I.%I', t.schemaname, t.tablename)::regclass
         where t.schemaname = 'exam' order by t.tablename`,
      );
      expect(tables.map((t) => t.tablename)).toEqual(expect.arrayContaining(EXAM_TABLES));
      for (const t of tables) expect(t).toMatchObject({ rowsecurity: true, forced: true, tableowner: expect.not.stringMatching(/^app_api$/) });
    });

    it('shows a learner only their own rows', async () => {
      const counts = await asApi({ user: ALICE }, visibleCounts);
      expect(counts).toEqual(Object.fromEntries(EXAM_TABLES.map((t) => [t, 1])));
      const { rows } = await asApi({ user: ALICE }, (db) => db.query<{ user_id: string }>('select user_id from exam.sessions'));
      expect(rows).toEqual([{ user_id: ALICE }]);
    });

    it('shows and changes nothing without an identity', async () => {
      expect(await asApi({}, visibleCounts)).toEqual(Object.fromEntries(EXAM_TABLES.map((t) => [t, 0])));
      expect(await asApi({}, (db) => affected(db, `update exam.sessions set status = 'CLOSED'`))).toBe(0);
      expect(await asApi({}, (db) => affected(db, 'delete from exam.audit_policy_events'))).toBe(0);
      expect(await asApi({}, (db) => affected(db, 'delete from exam.step_submissions'))).toBe(0);
      await expect(asApi({}, (db) => insertProfile(db, CAROL))).rejects.toMatchObject({ code: '42501' });
    });

    it('treats roles without a user id as no identity', async () => {
      expect(await asApi({ roles: '["admin","proctor"]' }, visibleCounts)).toEqual(Object.fromEntries(EXAM_TABLES.map((t) => [t, 0])));
    });

    it("shows another user's identity nothing of this user's", async () => {
      expect(await asApi({ user: CAROL }, visibleCounts)).toEqual(Object.fromEntries(EXAM_TABLES.map((t) => [t, 0])));
      expect(await asApi({ user: CAROL }, (db) => affected(db, `update exam.plans set compression_flag = true`))).toBe(0);
    });

    it('lets a learner write their own rows but not rows for someone else', async () => {
      const added = await asApi({ user: ALICE }, async (db) => {
        await db.query(
          `insert into exam.step_submissions (id, session_id, step_no, attempt_no, result) values (gen_random_uuid(), $1, 2, 1, 'FAIL')`,
          [aliceSession],
        );
        return (await visibleCounts(db)).step_submissions;
      });
      expect(added).toBe(2);
      await expect(asApi({ user: ALICE }, (db) => insertProfile(db, CAROL))).rejects.toMatchObject({ code: '42501' });
      await expect(
        asApi({ user: ALICE }, (db) =>
          db.query(
            `insert into exam.plan_tasks (id, plan_id, task_date, task_type, status, est_minutes)
             values (gen_random_uuid(), $1, current_date, 'DRILL', 'TODO', 10)`,
            [bobPlan],
          ),
        ),
      ).rejects.toMatchObject({ code: '42501' });
      await expect(
        asApi({ user: ALICE }, (db) =>
          db.query(
            `insert into exam.step_submissions (id, session_id, step_no, attempt_no, result) values (gen_random_uuid(), $1, 9, 1, 'PASS')`,
            [bobSession],
          ),
        ),
      ).rejects.toMatchObject({ code: '42501' });
      await expect(
        asApi({ user: ALICE }, (db) => db.query('update exam.sessions set user_id = $1', [BOB])),
      ).rejects.toMatchObject({ code: '42501' });
    });

    it('lets an admin read every row but change only their own', async () => {
      expect(await asApi({ user: CAROL, roles: '["learner","admin"]' }, visibleCounts)).toEqual(
        Object.fromEntries(EXAM_TABLES.map((t) => [t, 2])),
      );
      expect(await asApi({ user: CAROL, roles: '["admin"]' }, (db) => affected(db, `update exam.sessions set status = 'CLOSED'`))).toBe(0);
    });

    it('lets a proctor read the policy audit trail and the sessions they may force-close, nothing else', async () => {
      const counts = await asApi({ user: CAROL, roles: '["proctor"]' }, visibleCounts);
      expect(counts).toEqual({ ...Object.fromEntries(EXAM_TABLES.map((t) => [t, 0])), audit_policy_events: 2, sessions: 2 });
    });

    it('reads identity settings leniently', async () => {
      const read = (settings: Record<string, string>) =>
        asApi({}, async (db) => {
          for (const [name, value] of Object.entries(settings)) {
            await db.query('select set_config($1, $2, true)', [name, value]);
          }
          const { rows } = await db.query<{ user_id: string | null; tenant_id: string | null; admin: boolean }>(
            `select app.user_id() as user_id, app.tenant_id() as tenant_id, app.has_role('admin') as admin`,
          );
          return rows[0];
        });
      expect(await read({})).toEqual({ user_id: null, tenant_id: null, admin: false });
      expect(await read({ 'app.user_id': '', 'app.tenant_id': '', 'app.roles': '' })).toEqual({ user_id: null, tenant_id: null, admin: false });
      expect(await read({ 'app.user_id': 'not-a-uuid' })).toMatchObject({ user_id: null });
      expect(await read({ 'app.user_id': ALICE.toUpperCase(), 'app.tenant_id': 't1', 'app.roles': '["learner","admin"]' })).toEqual({
        user_id: ALICE,
        tenant_id: 't1',
        admin: true,
      });
      // Roles match exactly (0008): only the JSON array the API sends holds any, and nothing else errors.
      for (const roles of ['["administrator"]', 'admin', 'learner , admin', 'learner,admin', '["admin "]', '["Admin"]', '[ "admin" ]', '["adm\\u0069n"]', '{"admin":1}', '["admin"', 'null']) {
        expect(await read({ 'app.roles': roles }), roles).toMatchObject({ admin: false });
      }
    });
  });
}

async function appliedNames(db: SqlExec): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>('select name from public.schema_migrations order by name');
  return rows.map((r) => r.name);
}

async function withMigrationsCopy(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
  try {
    await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function visibleCounts(db: SqlExec): Promise<Record<string, number>> {
  const { rows } = await db.query<Record<string, number>>(
    `select ${EXAM_TABLES.map((t) => `(select count(*)::int from exam.${t}) as ${t}`).join(', ')}`,
  );
  return rows[0]!;
}

async function affected(db: SqlExec, statement: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`with changed as (${statement} returning 1) select count(*)::int as n from changed`);
  return rows[0]!.n;
}

function insertProfile(db: SqlExec, user: string) {
  return db.query(
    `insert into exam.exam_profiles (id, user_id, level, exam_date, target_type)
     values (gen_random_uuid(), $1, 'BASIC', current_date + 30, 'PASS_FIRST')`,
    [user],
  );
}

// One row in every exam table for the user, written as the superuser (no RLS).
async function seedUser(db: SqlExec, user: string): Promise<void> {
  await db.query(
    `with profile as (
       insert into exam.exam_profiles (id, user_id, level, exam_date, target_type)
       values (gen_random_uuid(), $1, 'ASSOCIATE', current_date + 60, 'HIGH_SCORE') returning id
     ), plan as (
       insert into exam.plans (id, user_id, exam_profile_id, start_date, exam_date)
       select gen_random_uuid(), $1, id, current_date, current_date + 60 from profile returning id
     ), task as (
       insert into exam.plan_tasks (id, plan_id, task_date, task_type, status, est_minutes)
       select gen_random_uuid(), id, current_date, 'LAB', 'TODO', 30 from plan
     ), session as (
       insert into exam.sessions (id, user_id, lab_id, level, engine_type, policy_id, mode, status)
       values (gen_random_uuid(), $1, gen_random_uuid(), 'ASSOCIATE', 'JUPYTER', gen_random_uuid(), 'PRACTICE', 'RUNNING')
       returning id
     ), submission as (
       insert into exam.step_submissions (id, session_id, step_no, attempt_no, result)
       select gen_random_uuid(), id, 1, 1, 'PASS' from session
     )
     insert into exam.audit_policy_events (id, user_id, session_id, action, verdict)
     select gen_random_uuid(), $1, id, 'PASTE', 'WARN' from session`,
    [user],
  );
}

// What the migrations define, as sorted text: schemas, extensions, relations with their RLS flags,
// owners and grants, columns, constraints, indexes, policies, functions and default privileges.
async function catalog(db: SqlExec): Promise<string[]> {
  const schemas = `('public', 'app', 'exam', 'seedtest', 'agent', 'factory', 'hub', 'archive')`;
  const { rows } = await db.query<{ item: string }>(`
    select item from (
      select 'schema ' || nspname || ' ' || coalesce(nspacl::text, '') as item
        from pg_namespace where nspname in ${schemas}
      union all
      select 'extension ' || e.extname || ' in ' || n.nspname
        from pg_extension e join pg_namespace n on n.oid = e.extnamespace
      union all
      select format('relation %s.%s %s rls=%s force=%s owner=%s acl=%s', n.nspname, c.relname, c.relkind,
                    c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner), c.relacl)
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ${schemas} and c.relkind in ('r', 'p', 'i', 'S', 'v')
          and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'e')
      union all
      select format('column %s.%s %s notnull=%s default=%s', a.attrelid::regclass, a.attname,
                    format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid))
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
        left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
        where n.nspname in ${schemas} and c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped
      union all
      select format('constraint %s %s %s', con.conrelid::regclass, con.conname, pg_get_constraintdef(con.oid))
        from pg_constraint con join pg_namespace n on n.oid = con.connamespace
        where n.nspname in ${schemas} and con.conrelid <> 0
      union all
      select 'index ' || pg_get_indexdef(i.indexrelid)
        from pg_index i join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ${schemas}
      union all
      select format('policy %s.%s %s %s %s using=%s check=%s', schemaname, tablename, policyname, cmd, roles, qual, with_check)
        from pg_policies where schemaname in ${schemas}
      union all
      select format('function %s %s acl=%s body=%s', p.oid::regprocedure, p.provolatile, p.proacl, md5(p.prosrc))
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'app'
      union all
      select format('default acl %s %s %s %s', pg_get_userbyid(d.defaclrole), n.nspname, d.defaclobjtype, d.defaclacl)
        from pg_default_acl d left join pg_namespace n on n.oid = d.defaclnamespace
      union all
      select format('role %s login=%s super=%s bypassrls=%s', rolname, rolcanlogin, rolsuper, rolbypassrls)
        from pg_roles where rolname = 'app_api'
    ) as items order by item`);
  return rows.map((r) => r.item);
}
