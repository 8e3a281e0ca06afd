// What deploy:check verifies offline before a deploy: the Worker's configuration as production
// will see it (wrangler.toml [vars], then the secrets file, then --var overrides), checked by the
// Worker's own schema plus the rules that only matter in production. Problems name the variable
// and the rule, never the value.
import { SYSTEMS } from '../../src/systems';
import { ConfigSchema } from '../../src/platform/config';
import type { DeployConfig } from './wrangler';

export interface DeployInputs {
  config: DeployConfig;
  secrets: Record<string, string>;
  overrides: Record<string, string>;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '0.0.0.0']);
const SYSTEM_NAMES: readonly string[] = SYSTEMS.map((s) => s.name);

/** What the Worker reads from its environment: the config schema, and the systems to mount. */
const CONFIG_VARIABLES = new Set([...Object.keys(ConfigSchema.shape), 'ENABLED_SYSTEMS']);

/** Names a secrets file must not hold: a typo would be a secret nobody reads. */
export function secretNameProblems(secrets: Record<string, string>, config: DeployConfig): string[] {
  return Object.keys(secrets).flatMap((name) => [
    ...(CONFIG_VARIABLES.has(name) ? [] : [`${name}: not a configuration variable (secrets file)`]),
    ...(name in config.vars ? [`${name}: both a secret and a wrangler.toml var; Cloudflare refuses the deploy`] : []),
  ]);
}

export function checkDeployment({ config, secrets, overrides }: DeployInputs): string[] {
  const env: Record<string, string> = { ...config.vars, ...secrets, ...overrides };
  const problems = secretNameProblems(secrets, config);
  for (const name of Object.keys(overrides)) {
    if (!CONFIG_VARIABLES.has(name)) problems.push(`${name}: not a configuration variable (--var)`);
    if (name in secrets) problems.push(`${name}: both a secret and a --var; Cloudflare refuses the deploy`);
  }

  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`${issue.path.join('.')}: ${issue.code === 'invalid_type' ? 'missing' : issue.message}`);
    }
  }
  problems.push(...productionRules(env, config));
  problems.push(...queueRules(config));
  return problems;
}

/**
 * Across the Workers of one wrangler.toml: Cloudflare gives a queue one consumer Worker, so a queue
 * two of them consume would leave one of them undeployable.
 */
export function sharedQueueProblems(configs: DeployConfig[]): string[] {
  const consumers = new Map<string, string[]>();
  for (const config of configs) {
    for (const { queue } of config.consumers) consumers.set(queue, [...(consumers.get(queue) ?? []), config.name]);
  }
  return [...consumers]
    .filter(([, workers]) => workers.length > 1)
    .map(([queue, workers]) => `queue ${queue}: consumed by ${workers.join(' and ')}; a queue has one consumer Worker`);
}

function productionRules(env: Record<string, string>, config: DeployConfig): string[] {
  const problems: string[] = [];
  if (env.NEON_FETCH_ENDPOINT) problems.push('NEON_FETCH_ENDPOINT: local only; unset it so the driver talks to Neon');
  const db = parseUrl(env.DB_URL);
  if (db) {
    // Any other role (the owner above all) would bypass row-level security or own the tables.
    if (db.username !== 'app_api') problems.push('DB_URL: must connect as app_api (npm run deploy:db writes it)');
    if (!db.password) problems.push('DB_URL: has no password');
    if (LOCAL_HOSTS.has(db.hostname)) problems.push('DB_URL: points at this machine');
  }
  for (const name of ['REDIS_URL', 'API_JWT_JWKS_URL']) {
    const url = parseUrl(env[name]);
    if (url && url.protocol !== 'https:') problems.push(`${name}: must be https:// in production`);
    if (url && LOCAL_HOSTS.has(url.hostname)) problems.push(`${name}: points at this machine`);
  }
  // The Worker falls back to serving every system when no name matches, so a typo would not fail.
  const systems = (env.ENABLED_SYSTEMS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of systems) {
    if (!SYSTEM_NAMES.includes(name)) problems.push(`ENABLED_SYSTEMS: unknown system "${name}" (one of ${SYSTEM_NAMES.join(', ')})`);
  }
  // [env.<system>] bundles that system alone (test/local/wrangler-envs.test.ts), and serves it
  // whatever ENABLED_SYSTEMS names.
  const alone = config.env !== undefined && SYSTEM_NAMES.includes(config.env) ? config.env : undefined;
  const others = systems.filter((name) => name !== alone && SYSTEM_NAMES.includes(name));
  if (alone && others.length > 0) problems.push(`ENABLED_SYSTEMS: names ${others.join(', ')}, but --env ${alone} bundles ${alone} alone`);
  return problems;
}

function queueRules(config: DeployConfig): string[] {
  const problems: string[] = [];
  const consumed = new Set(config.consumers.map((c) => c.queue));
  for (const producer of config.producers) {
    if (!consumed.has(producer.queue)) problems.push(`queue ${producer.queue}: produced to (${producer.binding}) but no consumer`);
  }
  for (const consumer of config.consumers) {
    if (!consumer.deadLetterQueue) problems.push(`queue ${consumer.queue}: consumer has no dead_letter_queue`);
    else if (consumer.deadLetterQueue === consumer.queue) problems.push(`queue ${consumer.queue}: is its own dead-letter queue`);
  }
  return problems;
}

function parseUrl(value: string | undefined): URL | undefined {
  if (!value) return undefined;
  try {
    return new URL(value);
  } catch {
    return undefined; // the schema check reports it
  }
}
