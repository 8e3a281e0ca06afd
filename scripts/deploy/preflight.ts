// npm run deploy:check [-- --secrets-file F] [--name WORKER] [--var KEY:VALUE …] [--domain HOST …] [--config wrangler.toml]
// npm run deploy       [-- the same]
// Checks the deployment offline (check.ts), then bundles it with `wrangler deploy --dry-run` and
// fails on any warning about wrangler.toml, which wrangler itself only prints (a misspelt key such as
// dead_letter_queu would otherwise deploy a consumer without its dead-letter queue). `npm run deploy`
// then runs the real `wrangler deploy` with the same --name, --var and --domain, so what is
// deployed is what was checked. Secrets are not uploaded here: that is deploy:secrets.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { checkDeployment } from './check';
import { DEFAULT_SECRETS_FILE, readEnvFile } from './env-file';
import { DEFAULT_CONFIG, readDeployConfig, wrangler } from './wrangler';

const { values } = parseArgs({
  options: {
    'secrets-file': { type: 'string', default: DEFAULT_SECRETS_FILE },
    config: { type: 'string', default: DEFAULT_CONFIG },
    name: { type: 'string' },
    var: { type: 'string', multiple: true, default: [] },
    domain: { type: 'string', multiple: true, default: [] },
    deploy: { type: 'boolean', default: false },
  },
});

const overrides: Record<string, string> = {};
for (const pair of values.var) {
  const at = pair.indexOf(':');
  if (at < 1) {
    console.error(`deploy:check: --var ${pair.split(':')[0]} must be KEY:VALUE`);
    process.exit(2);
  }
  overrides[pair.slice(0, at)] = pair.slice(at + 1);
}

const config = readDeployConfig(values.config);
const problems = checkDeployment({ config, secrets: await readEnvFile(values['secrets-file']), overrides });

// The same flags for the dry run and the deploy (wrangler splits --var on its first colon too).
const flags = [
  '--config', values.config,
  ...(values.name ? ['--name', values.name] : []),
  ...values.var.flatMap((pair) => ['--var', pair]),
  ...values.domain.flatMap((domain) => ['--domain', domain]),
];
const outdir = await mkdtemp(join(tmpdir(), 'deploy-check-'));
try {
  const dry = await wrangler(['deploy', '--dry-run', '--outdir', outdir, ...flags]);
  const output = dry.output.replace(/\x1b\[[0-9;]*m/g, ''); // colours
  if (dry.code !== 0) problems.push(`wrangler deploy --dry-run failed:\n${output.trim()}`);
  // Wrangler reports unknown or misplaced keys as a warning block headed like this, and goes on.
  const warning = /Processing .*configuration:[\s\S]*?(?=\n\n\S|$)/.exec(output);
  if (warning) problems.push(warning[0].trim());
} finally {
  await rm(outdir, { recursive: true, force: true });
}

const worker = values.name ?? config.name;
if (problems.length > 0) {
  console.error(`deploy:check: ${worker} is not ready to deploy:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`deploy:check: ${worker} ready (configuration, queues and bundle checked; secrets from ${values['secrets-file']})`);

if (values.deploy) {
  const run = await wrangler(['deploy', ...flags], { echo: true });
  process.exitCode = run.code;
}
