// docs/deploy.md stays true to the code: every npm script it runs exists and the deploy scripts
// accept the options it gives them (--env naming an environment of wrangler.toml), every wrangler
// command and flag it shows is one this wrangler has, and the queues it names are wrangler.toml's.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { experimental_getWranglerCommands } from 'wrangler';
import { beforeAll, describe, expect, it } from 'vitest';
import { OPTIONS } from '../../scripts/deploy/options';
import { environmentNames, queueNames, readDeployConfig } from '../../scripts/deploy/wrangler';
import { ROOT } from './helpers';

interface CommandNode {
  definition?: { args?: Record<string, { alias?: string | string[] }> };
  subtree: Map<string, CommandNode>;
}

/** Shell commands in the page: code blocks and inline code, continuation lines joined, split on && | ; outside quotes. */
function shellCommands(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/\\\n\s*/g, ' '));
  const inline = [...markdown.matchAll(/`((?:npm run|npx wrangler) [^`]+)`/g)].map((m) => m[1]!);
  return [...blocks.flatMap((b) => b.split('\n')), ...inline]
    .map((line) => line.replace(/\s#.*$/, ''))
    .flatMap((line) => line.split(/(?:&&|\||;)(?=(?:[^']*'[^']*')*[^']*$)/))
    .map((c) => c.trim().replace(/^export \w+="\$\(|^\w+="[^"]*" /, ''))
    .filter(Boolean);
}

/** A command's words, with single-quoted ones unquoted. */
const words = (command: string) => (command.match(/'[^']*'|\S+/g) ?? []).map((w) => w.replace(/^'(.*)'$/, '$1'));

/** `npm run [-s] <script> [-- args]` as script name and the arguments after `--`. */
function npmRun(command: string): { script: string; args: string[] } | undefined {
  const match = /^npm run (?:-s )?(\S+)(?: -- (.*))?$/.exec(command);
  return match ? { script: match[1]!, args: words(match[2] ?? '') } : undefined;
}

describe('docs/deploy.md', () => {
  let doc: string;
  let commands: string[];

  beforeAll(async () => {
    doc = await readFile(join(ROOT, 'docs/deploy.md'), 'utf8');
    commands = shellCommands(doc);
  });

  it('runs only npm scripts that exist', async () => {
    const { scripts } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const used = [...new Set(commands.flatMap((c) => npmRun(c)?.script ?? []))];
    expect(used).toEqual(expect.arrayContaining(['deploy:db', 'deploy:queues', 'deploy:secrets', 'deploy:check', 'deploy', 'user-id']));
    expect(used.filter((name) => !(name in scripts))).toEqual([]);
  });

  it('gives the deploy scripts only options they take, and --env only environments wrangler.toml has', async () => {
    const { scripts } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const envs = environmentNames();
    const refused: string[] = [];
    const targeted: string[] = [];
    for (const command of commands) {
      const run = npmRun(command);
      // package.json runs `tsx scripts/deploy/<file>.ts [fixed args]`: the file names its options.
      const [, file, fixed] = /^tsx scripts\/deploy\/(\w+)\.ts ?(.*)$/.exec(scripts[run?.script ?? ''] ?? '') ?? [];
      if (!run || !file || !(file in OPTIONS)) continue;
      try {
        const { values } = parseArgs({ args: [...words(fixed ?? ''), ...run.args], options: OPTIONS[file as keyof typeof OPTIONS], strict: true });
        const env = 'env' in values ? values.env : undefined;
        if (typeof env === 'string' && !envs.includes(env)) refused.push(`${command}: no [env.${env}] in wrangler.toml`);
        if (typeof env === 'string') targeted.push(`${run.script} --env ${env}`);
      } catch (error) {
        refused.push(`${command}: ${(error as Error).message}`);
      }
    }
    expect(refused).toEqual([]);
    expect(targeted).toEqual(expect.arrayContaining(['deploy:queues --env exam', 'deploy:secrets --env exam', 'deploy --env exam']));
  });

  it('shows only wrangler commands and flags this wrangler has', () => {
    const { registry, globalFlags } = experimental_getWranglerCommands() as unknown as {
      registry: CommandNode;
      globalFlags: Record<string, { alias?: string | string[] }>;
    };
    const names = (args: Record<string, { alias?: string | string[] }>) =>
      Object.entries(args).flatMap(([name, arg]) => [name, ...[arg.alias ?? []].flat()]);
    const wranglerCommands = commands.filter((c) => c.startsWith('npx wrangler '));
    expect(wranglerCommands.length).toBeGreaterThan(3);
    const unknown: string[] = [];
    for (const command of wranglerCommands) {
      const words = command.split(/\s+/).slice(2);
      let node = registry;
      let path = '';
      while (words[0] && node.subtree.has(words[0])) {
        path += ` ${words[0]}`;
        node = node.subtree.get(words.shift()!)!;
      }
      if (!node.definition) unknown.push(`wrangler${path} ${words[0] ?? ''}: not a command`);
      const flags = new Set([...names(node.definition?.args ?? {}), ...names(globalFlags)]);
      for (const word of words.filter((w) => w.startsWith('--'))) {
        const flag = word.slice(2).split('=')[0]!;
        if (!flags.has(flag)) unknown.push(`wrangler${path}: no flag --${flag}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it("names wrangler.toml's queues and no others", () => {
    const named = [undefined, ...environmentNames()].flatMap((env) => queueNames(readDeployConfig(undefined, env)));
    const mentioned = [...new Set(doc.match(/\bedge-api-(?:[a-z]+-)?events(?:-dlq)?\b/g) ?? [])];
    expect(named).toEqual(expect.arrayContaining(mentioned));
    expect(mentioned).toEqual(expect.arrayContaining([...queueNames(readDeployConfig()), ...queueNames(readDeployConfig(undefined, 'exam'))]));
  });
});
