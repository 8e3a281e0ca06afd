import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DevWorker {
  url: string;
  /** Everything the Worker and wrangler printed so far. */
  output(): string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 100_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * `wrangler dev --test-scheduled` as `npm run dev` runs it, on a free port, with `bindings` as its
 * secrets (an env file of its own, so a developer's .dev.vars is neither read nor touched) and its
 * own state directory.
 */
export async function startWranglerDev(bindings: Record<string, string>): Promise<DevWorker> {
  const dir = mkdtempSync(join(tmpdir(), 'wrangler-dev-'));
  writeFileSync(join(dir, '.env'), Object.entries(bindings).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('\n'));
  const port = await freePort();
  const args = ['dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', '0', '--show-interactive-dev-session=false', '--test-scheduled'];
  const child = spawn('wrangler', [...args, '--env-file', join(dir, '.env'), '--persist-to', join(dir, 'state')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
    detached: true, // its own process group, so stop() also ends the workerd it starts
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready on')) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      void exited.then(() => reject(new Error(`wrangler dev exited before it was ready:\n${output}`)));
      // Below the project's hook timeout, so a hung start is stopped here rather than left running.
      setTimeout(() => reject(new Error(`wrangler dev not ready after ${READY_TIMEOUT_MS} ms:\n${output}`)), READY_TIMEOUT_MS).unref();
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, output: () => output, stop };
}
