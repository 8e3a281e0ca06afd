// npm run deploy:secrets [-- --secrets-file F] [--name WORKER] [--dry-run]
// Pushes every variable of the git-ignored secrets file (default .deploy/secrets.env) to the
// Worker with one `wrangler secret bulk`, the values going through stdin (never argv or a temp
// file). Refuses names that are not configuration variables (a typo would be a secret nobody
// reads) and names set in wrangler.toml [vars] (Cloudflare refuses a secret and a var of one name).
import { parseArgs } from 'node:util';
import { secretNameProblems } from './check';
import { DEFAULT_SECRETS_FILE, readEnvFile } from './env-file';
import { readDeployConfig, wrangler } from './wrangler';

const { values } = parseArgs({
  options: {
    'secrets-file': { type: 'string', default: DEFAULT_SECRETS_FILE },
    name: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
  },
});
const file = values['secrets-file'];
const secrets = await readEnvFile(file);
const config = readDeployConfig();
const names = Object.keys(secrets);

const problems = secretNameProblems(secrets, config);
if (names.length === 0) problems.push(`${file}: no secrets found`);
if (problems.length > 0) {
  console.error(`deploy:secrets: ${file}\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(2);
}

const worker = values.name ?? config.name;
if (values['dry-run']) {
  console.log(`would set on ${worker}: ${names.join(', ')}`);
} else {
  const args = ['secret', 'bulk', ...(values.name ? ['--name', values.name] : [])];
  const run = await wrangler(args, { input: JSON.stringify(secrets), echo: true });
  process.exitCode = run.code;
}
