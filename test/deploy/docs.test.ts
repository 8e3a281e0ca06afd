// docs/deploy.md stays true to the code: every npm script it runs exists, every wrangler command
// and flag it shows is one this wrangler has, and the queues it names are wrangler.toml's.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { experimental_getWranglerCommands } from 'wrangler';
import { beforeAll, describe, expect, it } from 'vitest';
import { queueNames, readDeployConfig } from '../../scripts/deploy/wrangler';
import { ROOT } from './helpers';

interface CommandNode {
  definition?: { args?: Record<string, { alias?: string | string[] }> };
  subtree: Map<string, CommandNode>;
}

/** Shell commands in the page: code blocks and inline code, continuation lines joined, split on && | ;. */
function shellCommands(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/\\\n\s*/g, ' '));
  const inline = [...markdown.matchAll(/`((?:npm run|npx wrangler) [^`]+)`/g)].map((m) => m[1]!);
  return [...blocks.flatMap((b) => b.split('\n')), ...inline]
    .map((line) => line.replace(/\s#.*$/, ''))
    .flatMap((line) => line.split(/&&|\||;/))
    .map((c) => c.trim().replace(/^export \w+="\$\(|^\w+="[^"]*" /, ''))
    .filter(Boolean);
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
    const used = [...new Set(commands.flatMap((c) => /^npm run (\S+)/.exec(c)?.[1] ?? []))];
    expect(used).toEqual(expect.arrayContaining(['deploy:db', 'deploy:queues', 'deploy:secrets', 'deploy:check', 'deploy']));
    expect(used.filter((name) => !(name in scripts))).toEqual([]);
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
    const named = queueNames(readDeployConfig());
    const mentioned = [...new Set(doc.match(/\bedge-api-events[a-z0-9-]*/g) ?? [])];
    expect(mentioned.sort()).toEqual([...named].sort());
  });
});
