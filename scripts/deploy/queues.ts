// npm run deploy:queues [-- --env SYSTEM] [--dry-run]
// Creates the queues a Worker of wrangler.toml names (producers, consumers and their dead-letter
// queues: the all-in-one's, or with --env that system's own) that do not exist yet in the
// Cloudflare account wrangler is logged in to. Safe to re-run.
import { parseArgs } from 'node:util';
import { OPTIONS } from './options';
import { queueNames, readDeployConfig, wrangler, type DeployConfig } from './wrangler';

const { values } = parseArgs({ options: OPTIONS.queues });
let config: DeployConfig;
try {
  config = readDeployConfig(undefined, values.env);
} catch (error) {
  console.error(`deploy:queues: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}
const names = queueNames(config);

for (const name of names) {
  if (values['dry-run']) {
    console.log(`would ensure queue ${name}`);
    continue;
  }
  const info = await wrangler(['queues', 'info', name]);
  if (info.code === 0) {
    console.log(`queue ${name}: exists`);
    continue;
  }
  // Anything but "does not exist" (not logged in, no network, no Queues on the plan) is shown as is.
  if (!info.output.includes('does not exist')) {
    process.stderr.write(info.output);
    process.exit(1);
  }
  const created = await wrangler(['queues', 'create', name], { echo: true });
  if (created.code !== 0) process.exit(1);
  console.log(`queue ${name}: created`);
}
