// npm run deploy:check [-- --env SYSTEM | --all-envs] [--secrets-file F] [--name WORKER] [--var KEY:VALUE …] [--domain HOST …] [--config wrangler.toml]
// npm run deploy       [-- the same, for one Worker]
// Checks a Worker offline (check.ts): the all-in-one by default, a system's own Worker with
// --env <system> (its [env.<system>] section, read as wrangler reads it), or every one of them
// with --all-envs. Then bundles each with `wrangler deploy --dry-run` and fails on any warning
// about wrangler.toml, which wrangler itself only prints (a misspelt key such as dead_letter_queu
// would otherwise deploy a consumer without its dead-letter queue). `npm run deploy` then runs the
// real `wrangler deploy` with the same --env, --name, --var and --domain, so what is deployed is
// what was checked. Secrets are not uploaded here: that is deploy:secrets.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { checkDeployment, sharedQueueProblems } from './check';
import { readEnvFile } from './env-file';
import { OPTIONS } from './options';
import { envFlags, environmentNames, readDeployConfig, wrangler, type DeployConfig } from './wrangler';

const { values } = parseArgs({ options: OPTIONS.preflight });

function usage(message: string): never {
  console.error(`deploy:check: ${message}`);
  process.exit(2);
}

const overrides: Record<string, string> = {};
for (const pair of values.var) {
  const at = pair.indexOf(':');
  if (at < 1) usage(`--var ${pair.split(':')[0]} must be KEY:VALUE`);
  overrides[pair.slice(0, at)] = pair.slice(at + 1);
}
// These name one Worker; and deploying every Worker of the file would serve each system twice.
if (values['all-envs'] && (values.env !== undefined || values.name !== undefined || values.domain.length > 0 || values.deploy)) {
  usage('--all-envs checks every Worker of the file; it takes no --env, --name, --domain, and deploys nothing');
}

const envs = values['all-envs'] ? [undefined, ...environmentNames(values.config)] : [values.env];
const configs: DeployConfig[] = [];
for (const env of envs) {
  try {
    configs.push(readDeployConfig(values.config, env));
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error)); // wrangler's message names the environments it knows
  }
}

const secretsFile = values['secrets-file'];
const secrets = await readEnvFile(secretsFile);
/** The same flags for the dry run and the deploy (wrangler splits --var on its first colon too). */
const flagsFor = (config: DeployConfig) => [
  '--config', values.config,
  ...envFlags(config.env),
  ...(values.name ? ['--name', values.name] : []),
  ...values.var.flatMap((pair) => ['--var', pair]),
  ...values.domain.flatMap((domain) => ['--domain', domain]),
];

async function dryRun(config: DeployConfig): Promise<string[]> {
  const outdir = await mkdtemp(join(tmpdir(), 'deploy-check-'));
  try {
    const dry = await wrangler(['deploy', '--dry-run', '--outdir', outdir, ...flagsFor(config)]);
    const output = dry.output.replace(/\x1b\[[0-9;]*m/g, ''); // colours
    if (dry.code !== 0) return [`wrangler deploy --dry-run failed:\n${output.trim()}`];
    // Wrangler reports unknown or misplaced keys as a warning block headed like this, and goes on.
    const warning = /Processing .*configuration:[\s\S]*?(?=\n\n\S|$)/.exec(output);
    return warning ? [warning[0].trim()] : [];
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

// A dry run spends most of its time waiting, not computing: all six at once take half as long as in turn.
const results = await Promise.all(
  configs.map(async (config) => [...checkDeployment({ config, secrets, overrides }), ...(await dryRun(config))]),
);
let failed = false;
configs.forEach((config, i) => {
  const worker = values.name ?? config.name;
  const problems = results[i]!;
  if (problems.length > 0) {
    failed = true;
    console.error(`deploy:check: ${worker} is not ready to deploy:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  } else {
    console.log(`deploy:check: ${worker} ready (configuration, queues and bundle checked; secrets from ${secretsFile})`);
  }
});
const shared = sharedQueueProblems(configs);
if (shared.length > 0) {
  failed = true;
  console.error(`deploy:check: the Workers of ${values.config} clash:\n${shared.map((p) => `  - ${p}`).join('\n')}`);
}
if (failed) process.exit(1);

if (values.deploy) {
  const run = await wrangler(['deploy', ...flagsFor(configs[0]!)], { echo: true });
  process.exitCode = run.code;
}

