// Migration 0007_seedtest on a scratch database of the real server: rolling it back and applying
// it again leaves the same schema, its files re-run cleanly, and it adopts tables that the
// document's own (Alembic) migration created before it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDown, migrateUp, readMigrations, type SqlExec } from '../../scripts/lib/migrations';
import { serverBackend, type Backend } from './backends';

const NAME = '0007_seedtest';
const TABLES = ['classroom', 'features_topic_daily', 'interest_goal', 'session'];
// The document's Alembic upgrade() as SQL (spec/expected/seedtest.sql, the contract), unqualified
// like the document: run with search_path = seedtest.
const DOCUMENT_DDL = `
  create table classroom (classroom_id text not null primary key, name text not null, org_id integer null,
    teacher_id text null, grade_level text null, metadata jsonb null,
    created_at timestamptz not null default now(), updated_at timestamptz not null default now());
  create index ix_classroom_org_id on classroom (org_id);
  create index ix_classroom_teacher_id on classroom (teacher_id);
  create table session (session_id text not null primary key, user_id text not null, classroom_id text null,
    started_at timestamptz not null default now(), ended_at timestamptz null, session_type text null, metadata jsonb null);
  create index ix_session_user_id on session (user_id);
  create index ix_session_classroom_id on session (classroom_id);
  create index ix_session_started_at on session (started_at desc);
  create table interest_goal (user_id text not null, topic_id text not null, interest_level numeric null,
    goal_target numeric null, set_at timestamptz not null default now(), updated_at timestamptz not null default now(),
    constraint pk_interest_goal primary key (user_id, topic_id));
  create index ix_interest_goal_user_set_at on interest_goal (user_id, set_at desc);
  create table features_topic_daily (user_id text not null, topic_id text not null, date date not null,
    features jsonb not null, created_at timestamptz not null default now(), updated_at timestamptz not null default now(),
    constraint pk_features_topic_daily primary key (user_id, topic_id, date));
  create index ix_features_topic_daily_user_date on features_topic_daily (user_id, date desc);
  create index ix_features_topic_daily_topic_date on features_topic_daily (topic_id, date desc);`;

describe('migration 0007_seedtest', () => {
  let backend: Backend;
  let file: { up: string; down: string };
  /** How many applied migrations a rollback of 0007 takes (0007 and any later ones). */
  let steps: number;

  beforeAll(async () => {
    backend = await serverBackend();
    const all = await readMigrations();
    file = all.find((m) => m.name === NAME)!;
    steps = all.filter((m) => m.name >= NAME).length;
    await migrateUp(backend.admin);
  });
  afterAll(() => backend?.close());

  it('creates the four tables with forced row-level security', async () => {
    const { rows } = await backend.admin.query<{ relname: string; rls: boolean; forced: boolean }>(
      `select relname, relrowsecurity as rls, relforcerowsecurity as forced from pg_class
       where relnamespace = 'seedtest'::regnamespace and relkind = 'r' order by relname`,
    );
    expect(rows).toEqual(TABLES.map((relname) => ({ relname, rls: true, forced: true })));
  });

  it('returns to the same schema after rolling back and applying again', async () => {
    const before = await catalog(backend.admin);
    expect(before.length).toBeGreaterThan(40);
    await migrateDown(backend.admin, { steps });
    expect(await catalog(backend.admin)).toEqual([]);
    await migrateUp(backend.admin);
    expect(await catalog(backend.admin)).toEqual(before);
  });

  it('runs its up and down files twice without error', async () => {
    // Later migrations build on 0007's tables: they go first and come back at the end.
    if (steps > 1) await migrateDown(backend.admin, { steps: steps - 1 });
    const before = await catalog(backend.admin);
    await backend.admin.exec(`begin; ${file.up} commit;`);
    await backend.admin.exec(`begin; ${file.up} commit;`);
    expect(await catalog(backend.admin)).toEqual(before);
    await backend.admin.exec(`begin; ${file.down} commit;`);
    await backend.admin.exec(`begin; ${file.down} commit;`);
    expect(await catalog(backend.admin)).toEqual([]);
    await backend.admin.exec(`begin; ${file.up} commit;`);
    expect(await catalog(backend.admin)).toEqual(before);
    await migrateUp(backend.admin);
  });

  it("adopts tables the document's own migration created (IF NOT EXISTS) and secures them", async () => {
    await backend.admin.exec(`begin; ${file.down} commit;`);
    await backend.admin.exec(`begin; set local search_path = seedtest; ${DOCUMENT_DDL} commit;`);
    await backend.admin.query(`insert into seedtest.classroom (classroom_id, name) values ('kept', 'Kept')`);
    await backend.admin.exec(`begin; ${file.up} commit;`);
    const { rows } = await backend.admin.query<{ name: string }>(`select name from seedtest.classroom`);
    expect(rows).toEqual([{ name: 'Kept' }]);
    const { rows: policies } = await backend.admin.query<{ n: number }>(`select count(*)::int as n from pg_policies where schemaname = 'seedtest'`);
    expect(policies[0]!.n).toBe(13);
  });
});

// What 0007 defines in schema seedtest, as sorted text.
async function catalog(db: SqlExec): Promise<string[]> {
  const { rows } = await db.query<{ item: string }>(`
    select item from (
      select format('relation %s %s rls=%s force=%s acl=%s', c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.relacl) as item
        from pg_class c where c.relnamespace = 'seedtest'::regnamespace
      union all
      select format('column %s.%s %s notnull=%s default=%s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                    pg_get_expr(ad.adbin, ad.adrelid))
        from pg_attribute a join pg_class c on c.oid = a.attrelid
        left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
        where c.relnamespace = 'seedtest'::regnamespace and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped
      union all
      select format('constraint %s %s %s', con.conrelid::regclass, con.conname, pg_get_constraintdef(con.oid))
        from pg_constraint con where con.connamespace = 'seedtest'::regnamespace
      union all
      select 'index ' || pg_get_indexdef(i.indexrelid)
        from pg_index i join pg_class c on c.oid = i.indrelid where c.relnamespace = 'seedtest'::regnamespace
      union all
      select format('policy %s %s %s %s using=%s check=%s', tablename, policyname, cmd, roles, qual, with_check)
        from pg_policies where schemaname = 'seedtest'
      union all
      select format('function %s %s acl=%s body=%s', p.oid::regprocedure, p.provolatile, p.proacl, md5(p.prosrc))
        from pg_proc p where p.pronamespace = 'seedtest'::regnamespace
    ) as items order by item`);
  return rows.map((r) => r.item);
}
