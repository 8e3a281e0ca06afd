// The deploy scripts as an operator runs them, offline: deploy:check passes the committed
// wrangler.toml and fails on a misspelt key that `wrangler deploy --dry-run` alone lets through;
// with --env it checks, bundles and targets that system's own Worker, and with --all-envs every
// Worker of the file; deploy:secrets and deploy:queues act on exactly the names the files hold;
// deploy:db refuses a pooled URL (its run against a database is in test/migrations/neon-owner.test.ts).
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_SECRETS, runScript, withTempDir, wranglerToml } from './helpers';

describe('npm run deploy:check', () => {
  it('passes the committed wrangler.toml with the example secrets', async () => {
    const run = await runScript('preflight.ts', ['--secrets-file', EXAMPLE_SECRETS]);
    expect(run.output).toContain('deploy:check: edge-api ready');
    expect(run.code).toBe(0);
  });

  it('fails on a wrangler.toml key wrangler does not know, naming it', async () => {
    const toml = (await wranglerToml()).replace(/^dead_letter_queue = /m, 'dead_letter_queu = ');
    const run = await withTempDir(async (_dir, write) =>
      runScript('preflight.ts', ['--secrets-file', EXAMPLE_SECRETS, '--config', await write('wrangler.toml', toml)]),
    );
    expect(run.code).toBe(1);
    expect(run.output).toContain('Unexpected fields found in queues.consumers[0] field: "dead_letter_queu"');
    expect(run.output).toContain('queue edge-api-events: consumer has no dead_letter_queue');
  });

  it('fails a one-system deploy whose system is misspelt, and names secrets only by name', async () => {
    const run = await withTempDir(async (_dir, write) => {
      const secrets = await write('secrets.env', `${await readFile(EXAMPLE_SECRETS, 'utf8')}\nREDIS_URL=http://topsecret-host.example\n`);
      return runScript('preflight.ts', ['--secrets-file', secrets, '--name', 'edge-api-exam', '--var', 'ENABLED_SYSTEMS:exma']);
    });
    expect(run.code).toBe(1);
    expect(run.output).toContain('deploy:check: edge-api-exam is not ready to deploy');
    expect(run.output).toContain('ENABLED_SYSTEMS: unknown system "exma"');
    expect(run.output).toContain('REDIS_URL: must be https:// in production');
    expect(run.output).not.toContain('topsecret-host');
  });
});

describe('npm run deploy:check -- --env <system>', () => {
  it("passes the exam system's own Worker, by its own name", async () => {
    const run = await runScript('preflight.ts', ['--secrets-file', EXAMPLE_SECRETS, '--env', 'exam']);
    expect(run.output).toContain('deploy:check: edge-api-exam ready');
    expect(run.code).toBe(0);
  });

  it("checks that environment's section: its queues, and its bundle from its own main", async () => {
    const toml = (await wranglerToml())
      .replace('dead_letter_queue = "edge-api-exam-events-dlq"', 'dead_letter_queu = "edge-api-exam-events-dlq"')
      .replace(/^main = ".*functions\/systems\/exam\.ts"$/m, 'main = "functions/systems/exam-missing.ts"');
    const run = await withTempDir(async (_dir, write) =>
      runScript('preflight.ts', ['--secrets-file', EXAMPLE_SECRETS, '--config', await write('wrangler.toml', toml), '--env', 'exam']),
    );
    expect(run.code).toBe(1);
    expect(run.output).toContain('deploy:check: edge-api-exam is not ready to deploy');
    expect(run.output).toContain('queue edge-api-exam-events: consumer has no dead_letter_queue');
    expect(run.output).toContain('wrangler deploy --dry-run failed');
    expect(run.output).toContain('exam-missing.ts');
  });

  it('names the environments there are when asked for one there is not', async () => {
    const run = await runScript('preflight.ts', ['--secrets-file', EXAMPLE_SECRETS, '--env', 'exma']);
    expect(run.code).toBe(2);
    expect(run.output).toContain('No environment found in configuration with name "exma"');
    expect(run.output).toContain('["exam","seedtest","agent","factory","hub"]');
  });

  it('refuses ENABLED_SYSTEMS naming a system the Worker does not bundle', async () => {
    const run = await runScript('preflight.ts', ['--secrets-file', EXAMPLE_SECRETS, '--env', 'hub', '--var', 'ENABLED_SYSTEMS:exam']);
    expect(run.code).toBe(1);
    expect(run.output).toContain('ENABLED_SYSTEMS: names exam, but --env hub bundles hub alone');
  });
});

describe('npm run deploy:check -- --all-envs', () => {
  it('checks the all-in-one and every system Worker, and two consuming one queue', async () => {
    const toml = (await wranglerToml()).replaceAll('edge-api-hub-events', 'edge-api-events');
    const run = await withTempDir(async (_dir, write) =>
      runScript('preflight.ts', ['--secrets-file', EXAMPLE_SECRETS, '--config', await write('wrangler.toml', toml), '--all-envs']),
    );
    expect(run.code).toBe(1);
    for (const worker of ['edge-api', 'edge-api-exam', 'edge-api-seedtest', 'edge-api-agent', 'edge-api-factory', 'edge-api-hub']) {
      expect(run.output).toContain(`deploy:check: ${worker} ready`);
    }
    expect(run.output).toContain('queue edge-api-events: consumed by edge-api and edge-api-hub; a queue has one consumer Worker');
  });

  it('deploys nothing: a deploy names one Worker', async () => {
    const run = await runScript('preflight.ts', ['--secrets-file', EXAMPLE_SECRETS, '--all-envs', '--deploy']);
    expect(run.code).toBe(2);
    expect(run.output).toContain('--all-envs checks every Worker of the file');
  });
});

describe('npm run deploy:secrets', () => {
  it('would push every name of the secrets file, and no value', async () => {
    const run = await runScript('secrets.ts', ['--secrets-file', EXAMPLE_SECRETS, '--name', 'edge-api-exam', '--dry-run']);
    expect(run.code).toBe(0);
    expect(run.output.trim()).toBe('would set on edge-api-exam: API_JWT_JWKS_URL, DB_URL, FACTORY_ACTION_SIGNING_SECRET, FACTORY_CONNECTOR_KEYS, REDIS_URL, UPSTASH_REDIS_REST_TOKEN');
  });

  it("targets a system's own Worker with --env", async () => {
    const run = await runScript('secrets.ts', ['--secrets-file', EXAMPLE_SECRETS, '--env', 'hub', '--dry-run']);
    expect(run.code).toBe(0);
    expect(run.output.trim()).toBe('would set on edge-api-hub: API_JWT_JWKS_URL, DB_URL, FACTORY_ACTION_SIGNING_SECRET, FACTORY_CONNECTOR_KEYS, REDIS_URL, UPSTASH_REDIS_REST_TOKEN');
  });

  it('refuses a file with a wrangler.toml var or an unknown name, before calling wrangler', async () => {
    const run = await withTempDir(async (_dir, write) =>
      runScript('secrets.ts', ['--secrets-file', await write('secrets.env', 'API_JWT_AUDIENCE=mine\nREDIS_TOKEN=abc\n')]),
    );
    expect(run.code).toBe(2);
    expect(run.output).toContain('REDIS_TOKEN: not a configuration variable');
    expect(run.output).toContain('API_JWT_AUDIENCE: both a secret and a wrangler.toml var');
    expect(run.output).not.toContain('abc');
  });
});

describe('npm run deploy:db', () => {
  it("refuses Neon's pooled endpoint before connecting, without echoing the URL", async () => {
    const pooled = 'postgresql://neondb_owner:0wner-pw@ep-example-123456-pooler.us-east-2.aws.neon.tech/neondb?sslmode=require';
    const run = await runScript('database.ts', [], { NEON_OWNER_URL: pooled });
    expect(run.code).toBe(2);
    expect(run.output).toContain('NEON_OWNER_URL is the pooled (-pooler) endpoint: use the direct one');
    expect(run.output).not.toContain('0wner-pw');
  });

  it('asks for the owner URL when none is set', async () => {
    const run = await runScript('database.ts', [], { NEON_OWNER_URL: '' });
    expect(run.code).toBe(2);
    expect(run.output).toContain("set NEON_OWNER_URL to the owner role's direct connection string");
  });
});

describe('npm run deploy:queues', () => {
  it("ensures the events queue and its dead-letter queue, as wrangler.toml names them", async () => {
    const run = await runScript('queues.ts', ['--dry-run']);
    expect(run.code).toBe(0);
    expect(run.output.trim().split('\n')).toEqual(['would ensure queue edge-api-events', 'would ensure queue edge-api-events-dlq']);
  });

  it("ensures a system's own queue and dead-letter queue with --env, and refuses an unknown one", async () => {
    const run = await runScript('queues.ts', ['--env', 'seedtest', '--dry-run']);
    expect(run.code).toBe(0);
    expect(run.output.trim().split('\n')).toEqual(['would ensure queue edge-api-seedtest-events', 'would ensure queue edge-api-seedtest-events-dlq']);
    const unknown = await runScript('queues.ts', ['--env', 'seedtests', '--dry-run']);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain('No environment found in configuration with name "seedtests"');
    expect(unknown.output).not.toContain('would ensure');
  });
});
