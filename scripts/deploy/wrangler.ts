// What the deploy scripts need from wrangler.toml (read by wrangler itself, so it is parsed exactly
// as `wrangler deploy --env <env>` parses it: an environment inherits neither vars nor queues), and
// a way to run the wrangler CLI.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { experimental_readRawConfig, unstable_readConfig } from 'wrangler';

export const DEFAULT_CONFIG = join(import.meta.dirname, '../../wrangler.toml');
const WRANGLER = join(import.meta.dirname, '../../node_modules/.bin/wrangler');

export interface DeployConfig {
  path: string;
  /** The [env.<name>] section read, or undefined for the top level (the all-in-one Worker). */
  env?: string;
  name: string;
  vars: Record<string, string>;
  producers: { binding: string; queue: string }[];
  consumers: { queue: string; deadLetterQueue?: string }[];
}

/** Throws wrangler's own error for an environment the file does not define, listing those it does. */
export function readDeployConfig(path = DEFAULT_CONFIG, env?: string): DeployConfig {
  const config = unstable_readConfig({ config: path, env });
  return {
    path,
    env,
    name: config.name ?? '',
    vars: Object.fromEntries(Object.entries(config.vars).map(([k, v]) => [k, String(v)])),
    producers: (config.queues.producers ?? []).map((p: { binding: string; queue: string }) => ({ binding: p.binding, queue: p.queue })),
    consumers: (config.queues.consumers ?? []).map((c: { queue: string; dead_letter_queue?: string }) => ({ queue: c.queue, deadLetterQueue: c.dead_letter_queue })),
  };
}

/** The file's [env.<name>] sections: one Worker per system. */
export function environmentNames(path = DEFAULT_CONFIG): string[] {
  return Object.keys(experimental_readRawConfig({ config: path }).rawConfig.env ?? {});
}

/**
 * The --env flag for wrangler: `--env ""` is the top level, said explicitly, since wrangler warns
 * about a file with environments when no --env is given.
 */
export function envFlags(env: string | undefined): string[] {
  return ['--env', env ?? ''];
}

/** Every queue the Worker produces to or consumes from, and their dead-letter queues. */
export function queueNames(config: DeployConfig): string[] {
  const names = [
    ...config.producers.map((p) => p.queue),
    ...config.consumers.flatMap((c) => [c.queue, c.deadLetterQueue ?? []].flat()),
  ];
  return [...new Set(names)];
}

export interface Run {
  code: number;
  output: string;
}

/** Runs wrangler with its output captured (and echoed when `echo`); `input` goes to its stdin. */
export function wrangler(args: string[], opts: { input?: string; echo?: boolean } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(WRANGLER, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    const collect = (stream: NodeJS.WritableStream) => (chunk: Buffer) => {
      output += chunk.toString();
      if (opts.echo) stream.write(chunk);
    };
    child.stdout.on('data', collect(process.stdout));
    child.stderr.on('data', collect(process.stderr));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
    child.stdin.end(opts.input ?? '');
  });
}
