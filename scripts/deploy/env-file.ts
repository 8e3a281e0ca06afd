// The operator's git-ignored dotenv file of secrets (default .deploy/secrets.env): read by
// deploy:secrets and deploy:check, written by deploy:db. Kept owner-readable only.
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseEnv } from 'node:util';

export const DEFAULT_SECRETS_FILE = join(import.meta.dirname, '../../.deploy/secrets.env');

export async function readEnvFile(path: string): Promise<Record<string, string>> {
  if (!existsSync(path)) return {};
  return parseEnv(await readFile(path, 'utf8')) as Record<string, string>;
}

/** Sets one KEY=value line (replacing an earlier one), leaving the file's other lines as they are. */
export async function setEnvValue(path: string, key: string, value: string): Promise<void> {
  // Written unquoted, so only values that need no quoting are accepted.
  if (!/^[^\s'"`#\\$]+$/.test(value)) throw new Error(`${key}: value would need quoting in ${path}`);
  const text = existsSync(path) ? (await readFile(path, 'utf8')).replace(/\n+$/, '') : '';
  const lines = text === '' ? [] : text.split('\n');
  const line = `${key}=${value}`;
  const at = lines.findIndex((l) => new RegExp(`^\\s*(export\\s+)?${key}\\s*=`).test(l));
  if (at >= 0) lines[at] = line;
  else lines.push(line);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${lines.join('\n')}\n`, { mode: 0o600 });
  await chmod(path, 0o600); // mode applies only when the file is created
}
