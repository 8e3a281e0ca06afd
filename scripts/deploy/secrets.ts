// npm run deploy:secrets [-- --env SYSTEM] [--secrets-file F] [--name WORKER] [--dry-run]
// Pushes every variable of the git-ignored secrets file (default .deploy/secrets.env) to the
// Worker (the all-in-one, or with --env that system's own) with one `wrangler secret bulk`, the
// values going through stdin (never argv or a temp file). Refuses names that are not configuration
// variables (a typo would be a secret nobody reads) and names set in that Worker's wrangler.toml
// vars (Cloudflare refuses a secret and a var of one name).
import { parseArgs } from 'node:util';
import { secretNameProblems } from './check';
import { readEnvFile } from './env-file';
import { OPTIONS } from './options';
import { envFlags, readDeployConfig, wrangler, type DeployConfig } from './wrangler';

const { values } = parseArgs({ options: OPTIONS.secrets });
const file = values['secrets-file'];
const secrets = await readEnvFile(file);
let config: DeployConfig;
try {
  config = readDeployConfig(undefined, values.env);
} catch (error) {
  console.error(`deploy:secrets: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}
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
  const args = ['secret', 'bulk', ...envFlags(values.env), ...(values.name ? ['--name', values.name] : [])];
  const run = await wrangler(args, { input: JSON.stringify(secrets), echo: true });
  process.exitCode = run.code;
}
