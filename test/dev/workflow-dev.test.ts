import { importPKCS8, SignJWT } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startWranglerDev, type DevWorker } from './wrangler-dev';

// A factory workflow instance run by `wrangler dev`'s local Cloudflare Workflows, end to end over HTTP.

let worker: DevWorker;
const bindings = inject('bindings');

beforeAll(async () => {
  worker = await startWranglerDev(Object.fromEntries(Object.entries(bindings).filter(([key]) => !key.startsWith('TEST_'))));
});
afterAll(() => worker?.stop());

async function bearer(claims: Record<string, unknown>) {
  const key = await importPKCS8(bindings.TEST_RSA_PRIVATE_KEY!, 'RS256');
  return new SignJWT({ iss: bindings.API_JWT_ISSUER ?? 'https://auth.edge-api.dev/', aud: 'edge-api', ...claims })
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key);
}

async function api(method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(`${worker.url}${path}`, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}

describe('wrangler dev runs factory workflows', () => {
  it('executes a BI node on the local Workflows engine to COMPLETED', async () => {
    const subject = crypto.randomUUID();
    const operator = await bearer({ sub: crypto.randomUUID(), roles: ['platform_operator'] });
    const tenant = await api('POST', '/api/v1/factory/platform/tenants', operator, {
      name: `dev-${subject.slice(0, 8)}`,
      displayName: 'Dev plant',
      admin: { subject, email: `${subject}@factory.test`, username: 'admin' },
    });
    expect(tenant.status).toBe(201);
    const tenantId: string = tenant.body.tenant.id;
    const workflowId = crypto.randomUUID();
    const dsl = { name: 'dev_flow', variables: { input: { rows: { type: 'array', required: true } } }, nodes: [{ id: 'stats', type: 'BI', config: { source: '$.input.rows', aggregates: [{ name: 'n', op: 'count' }] } }] };
    const client = new pg.Client({ connectionString: bindings.DB_URL });
    await client.connect();
    try {
      await client.query('begin');
      await client.query(`select set_config('app.user_id', $1, true), set_config('app.tenant_id', $2, true), set_config('app.roles', '[]', true)`, [subject, tenantId]);
      await client.query(`insert into factory.workflows (id, tenant_id, name, dsl_json, dsl_digest, is_active, created_by) values ($1, $2, 'dev_flow', $3, 'dev', true, $4)`, [workflowId, tenantId, dsl, subject]);
      await client.query(`insert into factory.workflow_steps (workflow_id, step_order, node_id, node_type, config) values ($1, 1, 'stats', 'BI', $2)`, [workflowId, dsl.nodes[0]!.config]);
      await client.query('commit');
    } finally {
      await client.end();
    }
    const admin = await bearer({ sub: subject, tenant_id: tenantId });
    const started = await api('POST', `/api/v1/factory/workflows/${workflowId}/execute`, admin, { input: { rows: [{}, {}] } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await vi.waitFor(
      async () => {
        const now = await api('GET', `/api/v1/factory/workflows/instances/${started.body.id}`, admin);
        expect(now.body.status).toBe('COMPLETED');
        expect(now.body.runtimeContext.variables.nodes.stats.result).toEqual({ n: 2 });
      },
      { timeout: 30_000, interval: 300 },
    );
  });
});
