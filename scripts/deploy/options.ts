// The command-line options of the deploy scripts, in one place so that the commands docs/deploy.md
// shows are checked against what the scripts accept (test/deploy/docs.test.ts).
import type { ParseArgsOptionsConfig } from 'node:util';
import { DEFAULT_SECRETS_FILE } from './env-file';
import { DEFAULT_CONFIG } from './wrangler';

const secretsFile = { type: 'string', default: DEFAULT_SECRETS_FILE } as const;
/** A wrangler.toml [env.<system>] section: that system's own Worker. */
const env = { type: 'string' } as const;

export const OPTIONS = {
  /** deploy:check and deploy */
  preflight: {
    'secrets-file': secretsFile,
    config: { type: 'string', default: DEFAULT_CONFIG },
    env,
    'all-envs': { type: 'boolean', default: false },
    name: { type: 'string' },
    var: { type: 'string', multiple: true, default: [] as string[] },
    domain: { type: 'string', multiple: true, default: [] as string[] },
    deploy: { type: 'boolean', default: false },
  },
  queues: {
    env,
    'dry-run': { type: 'boolean', default: false },
  },
  secrets: {
    'secrets-file': secretsFile,
    env,
    name: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
  },
  database: {
    'secrets-file': secretsFile,
    rotate: { type: 'boolean', default: false },
    print: { type: 'boolean', default: false },
  },
} as const satisfies Record<string, ParseArgsOptionsConfig>;
