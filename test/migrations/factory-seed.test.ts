// npm run db:seed's data (scripts/lib/factory-seed.ts) on a scratch database of the real server:
// what §11.3 asks for, idempotent, and usable by the API role through row-level security.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateUp } from '../../scripts/lib/migrations';
import { DEMO_ADMIN_ID, DEMO_TENANT_ID, seedFactory, UNUSABLE_PASSWORD_HASH } from '../../scripts/lib/factory-seed';
import { serverBackend, type Backend } from './backends';

describe('npm run db:seed (factory)', () => {
  let backend: Backend;

  beforeAll(async () => {
    backend = await serverBackend();
    await migrateUp(backend.admin);
  });
  afterAll(() => backend?.close());

  it('seeds the demo tenant, its admin, the §5.2 ruleset deployed active and a judgment prompt; a second run changes nothing', async () => {
    const first = await seedFactory(backend.admin);
    expect(first.inserted).toEqual({ tenants: 1, users: 1, rulesets: 1, rule_scripts: 1, rule_deployments: 1, prompt_templates: 1, prompt_template_bodies: 1 });
    const second = await seedFactory(backend.admin);
    expect(Object.values(second.inserted).every((n) => n === 0)).toBe(true);
    expect(second.ruleset).toBe(first.ruleset);

    const q = async <T>(text: string, params: unknown[] = []) => (await backend.admin.query<T>(text, params)).rows;
    expect(await q(`select name, subscription_plan, settings->>'locale' as locale from factory.tenants`)).toEqual([{ name: 'demo', subscription_plan: 'trial', locale: 'ko-KR' }]);
    const [admin] = await q<{ id: string; role: string; password_hash: string; verifies: boolean }>(
      `select id, role, password_hash, password_hash = crypt('admin123', password_hash) as verifies from factory.users`,
    );
    expect(admin).toEqual({ id: DEMO_ADMIN_ID, role: 'admin', password_hash: UNUSABLE_PASSWORD_HASH, verifies: false });
    expect(await q(`select s.version, s.compile_status, s.test_coverage > 0 as covered, d.status from factory.rule_scripts s join factory.rule_deployments d using (ruleset_id, version)`)).toEqual([
      { version: 1, compile_status: 'compiled', covered: true, status: 'active' },
    ]);
    expect(await q(`select t.name, t.is_active, t.template_type, b.locale from factory.prompt_templates t join factory.prompt_template_bodies b on b.template_id = t.id`)).toEqual([
      { name: 'defect_judgment', is_active: true, template_type: 'judgment', locale: 'ko-KR' },
    ]);

    // The API role sees it as the demo admin, through row-level security.
    const api = await backend.openApi();
    const prelude = `${api.prelude}; select set_config('app.user_id', '${DEMO_ADMIN_ID}', false), set_config('app.tenant_id', '${DEMO_TENANT_ID}', false), set_config('app.roles', '[]', false)`;
    await api.db.exec(prelude);
    expect(await api.db.query(`select count(*)::int as n from factory.rulesets where is_active`)).toMatchObject({ rows: [{ n: 1 }] });
  });
});
