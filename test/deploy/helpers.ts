import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv, promisify } from 'node:util';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const EXAMPLE_SECRETS = join(ROOT, 'scripts/deploy/secrets.example.env');

/** The committed wrangler.toml with its paths (entry points, static assets, module aliases) made absolute, to be written elsewhere. */
export async function wranglerToml(): Promise<string> {
  const text = await readFile(join(ROOT, 'wrangler.toml'), 'utf8');
  return text
    .replace(/^(main|directory) = "(.*)"$/gm, (_line, key: string, path: string) => `${key} = "${join(ROOT, path)}"`)
    .replace(/^("[^"]+") = "(\.\/.*)"$/gm, (_line, module: string, path: string) => `${module} = "${join(ROOT, path)}"`);
}

export async function exampleSecrets(): Promise<Record<string, string>> {
  return parseEnv(await readFile(EXAMPLE_SECRETS, 'utf8')) as Record<string, string>;
}

/** Runs one of scripts/deploy/*.ts as npm would; never throws, returns exit code and output. */
export async function runScript(script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(join(ROOT, 'node_modules/.bin/tsx'), [`scripts/deploy/${script}`, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

/** A scratch directory for the duration of `work`. */
export async function withTempDir<T>(work: (dir: string, write: (name: string, text: string) => Promise<string>) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'deploy-test-'));
  try {
    return await work(dir, async (name, text) => {
      await writeFile(join(dir, name), text);
      return join(dir, name);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
