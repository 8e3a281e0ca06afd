// deploy:check's offline rules (scripts/deploy/check.ts) on the real wrangler.toml: the committed
// example secrets pass, and each way a production configuration goes wrong is named, by variable,
// without its value; a system's own Worker ([env.<system>]) is checked as wrangler reads it.
import { beforeAll, describe, expect, it } from 'vitest';
import { checkDeployment, sharedQueueProblems } from '../../scripts/deploy/check';
import { environmentNames, readDeployConfig, type DeployConfig } from '../../scripts/deploy/wrangler';
import { exampleSecrets } from './helpers';

describe('deploy:check rules', () => {
  let config: DeployConfig;
  let secrets: Record<string, string>;
  const check = (changes: { secrets?: Record<string, string | undefined>; overrides?: Record<string, string>; config?: Partial<DeployConfig> }) =>
    checkDeployment({
      config: { ...config, ...changes.config },
      secrets: Object.fromEntries(
        Object.entries({ ...secrets, ...changes.secrets }).filter((e): e is [string, string] => e[1] !== undefined),
      ),
      overrides: changes.overrides ?? {},
    });

  beforeAll(async () => {
    config = readDeployConfig();
    secrets = await exampleSecrets();
  });

  it('passes wrangler.toml with the example secrets', () => {
    expect(check({})).toEqual([]);
  });

  it('names a missing secret', () => {
    expect(check({ secrets: { UPSTASH_REDIS_REST_TOKEN: undefined } })).toEqual(['UPSTASH_REDIS_REST_TOKEN: missing']);
  });

  it('needs a verification key: a JWKS URL or a PEM', () => {
    expect(check({ secrets: { API_JWT_JWKS_URL: undefined } })).toEqual(['API_JWT_PUBLIC_KEY: set API_JWT_PUBLIC_KEY or API_JWT_JWKS_URL']);
  });

  it('refuses a DB_URL of any role but app_api, without showing it', () => {
    const owner = 'postgresql://neondb_owner:s3cret-owner-pw@ep-example-123456.us-east-2.aws.neon.tech/neondb?sslmode=require';
    const problems = check({ secrets: { DB_URL: owner } });
    expect(problems).toEqual(['DB_URL: must connect as app_api (npm run deploy:db writes it)']);
    expect(problems.join('\n')).not.toContain('s3cret-owner-pw');
  });

  it('refuses local endpoints and plain http in production', () => {
    expect(
      check({
        secrets: {
          DB_URL: 'postgres://app_api:pw@127.0.0.1:5432/edge_dev',
          REDIS_URL: 'http://127.0.0.1:8788',
          API_JWT_JWKS_URL: 'http://auth.example.com/.well-known/jwks.json',
          NEON_FETCH_ENDPOINT: 'http://127.0.0.1:8788/sql',
        },
      }),
    ).toEqual([
      'NEON_FETCH_ENDPOINT: local only; unset it so the driver talks to Neon',
      'DB_URL: points at this machine',
      'REDIS_URL: must be https:// in production',
      'REDIS_URL: points at this machine',
      'API_JWT_JWKS_URL: must be https:// in production',
    ]);
  });

  it('names a value the Worker would refuse, as the Worker does', () => {
    const problems = check({ overrides: { API_JWT_ALGORITHMS: 'HS256' } });
    expect(problems).toEqual([expect.stringMatching(/^API_JWT_ALGORITHMS\.0: Invalid option: expected one of "RS256"/)]);
    expect(problems[0]).not.toContain('HS256');
  });

  it('refuses secrets that are wrangler.toml vars or no variable at all', () => {
    expect(check({ secrets: { API_JWT_ISSUER: 'https://example.eu.auth0.com/', DB_PASSWORD: 'x' } })).toEqual([
      'API_JWT_ISSUER: both a secret and a wrangler.toml var; Cloudflare refuses the deploy',
      'DB_PASSWORD: not a configuration variable (secrets file)',
    ]);
    expect(check({ overrides: { REDIS_URL: 'https://other.upstash.io' } })).toEqual([
      'REDIS_URL: both a secret and a --var; Cloudflare refuses the deploy',
    ]);
  });

  it('accepts one system alone and refuses a misspelt one, which the Worker would read as all five', () => {
    expect(check({ overrides: { ENABLED_SYSTEMS: 'exam' } })).toEqual([]);
    expect(check({ overrides: { ENABLED_SYSTEMS: 'exam,hubb' } })).toEqual([
      'ENABLED_SYSTEMS: unknown system "hubb" (one of exam, seedtest, agent, factory, hub)',
    ]);
  });

  it('needs a consumer with a dead-letter queue for every queue the Worker produces to', () => {
    expect(check({ config: { consumers: [{ queue: 'edge-api-events' }] } })).toEqual([
      'queue edge-api-events: consumer has no dead_letter_queue',
    ]);
    expect(check({ config: { consumers: [] } })).toEqual(['queue edge-api-events: produced to (EVENTS) but no consumer']);
  });
});

describe('deploy:check rules for a system of its own (--env)', () => {
  let secrets: Record<string, string>;
  beforeAll(async () => {
    secrets = await exampleSecrets();
  });

  it('reads each environment as wrangler does: its name, its vars and its own queues', () => {
    expect(environmentNames()).toEqual(['exam', 'seedtest', 'agent', 'factory', 'hub']);
    for (const env of environmentNames()) {
      const config = readDeployConfig(undefined, env);
      expect(config.name).toBe(`edge-api-${env}`);
      expect(config.producers).toEqual([{ binding: 'EVENTS', queue: `edge-api-${env}-events` }]);
      expect(config.consumers).toEqual([{ queue: `edge-api-${env}-events`, deadLetterQueue: `edge-api-${env}-events-dlq` }]);
      expect(checkDeployment({ config, secrets, overrides: {} })).toEqual([]);
    }
  });

  it("checks the environment's own vars and queues, not the top level's", () => {
    const config = readDeployConfig(undefined, 'exam');
    const { API_JWT_AUDIENCE: _audience, ...vars } = config.vars;
    expect(checkDeployment({ config: { ...config, vars }, secrets, overrides: {} })).toEqual(['API_JWT_AUDIENCE: missing']);
    expect(checkDeployment({ config: { ...config, consumers: [] }, secrets, overrides: {} })).toEqual([
      'queue edge-api-exam-events: produced to (EVENTS) but no consumer',
    ]);
  });

  it('refuses ENABLED_SYSTEMS naming a system its bundle does not hold, which it would ignore', () => {
    const config = readDeployConfig(undefined, 'exam');
    expect(checkDeployment({ config, secrets, overrides: { ENABLED_SYSTEMS: 'exam' } })).toEqual([]);
    expect(checkDeployment({ config, secrets, overrides: { ENABLED_SYSTEMS: 'exam,hub' } })).toEqual([
      'ENABLED_SYSTEMS: names hub, but --env exam bundles exam alone',
    ]);
  });

  it('finds no queue consumed by two Workers of wrangler.toml, and names one that is', () => {
    const all = [undefined, ...environmentNames()].map((env) => readDeployConfig(undefined, env));
    expect(sharedQueueProblems(all)).toEqual([]);
    const hub = all.find((c) => c.env === 'hub')!;
    const clash = { ...hub, consumers: [{ queue: 'edge-api-events', deadLetterQueue: 'edge-api-hub-events-dlq' }] };
    expect(sharedQueueProblems([...all.filter((c) => c !== hub), clash])).toEqual([
      'queue edge-api-events: consumed by edge-api and edge-api-hub; a queue has one consumer Worker',
    ]);
  });
});
