/// <reference types="node" />
/**
 * Where the local Upstash endpoint runs Redis commands: a reachable `REDIS_URL`, else a
 * `redis-server` started for this run, else ioredis-mock in this process (no install needed).
 * Replies are binary-safe (Buffers), so the REST layer can base64-encode exactly what Redis holds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { access, constants } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import IORedis from 'ioredis';
import RedisMock from 'ioredis-mock';

export type RedisReply = Buffer | string | number | null | RedisReply[];

export interface RedisBackend {
  kind: 'redis' | 'redis-server' | 'in-process';
  /** One command, e.g. `['SET', 'k', 'v']`; rejects with Redis' error (`ERR …`, `WRONGTYPE …`). */
  command(args: string[]): Promise<RedisReply>;
  /** MULTI … EXEC: each command's reply or error; rejects when Redis discards the transaction. */
  multi(commands: string[][]): Promise<(RedisReply | Error)[]>;
  close(): Promise<void>;
}

export async function openRedisBackend(opts: { url?: string; spawnServer?: boolean }): Promise<RedisBackend> {
  if (opts.url && (await canConnect(opts.url))) return ioredisBackend('redis', new IORedis(opts.url, { maxRetriesPerRequest: 1 }));
  const binary = opts.spawnServer === false ? undefined : await findOnPath('redis-server');
  if (binary) return startRedisServer(binary);
  return inProcessBackend();
}

async function canConnect(url: string): Promise<boolean> {
  const probe = new IORedis(url, { lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {}); // the failed connect is the answer, not an unhandled event
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

function ioredisBackend(kind: 'redis' | 'redis-server', client: IORedis, onClose?: () => Promise<void>): RedisBackend {
  client.on('error', () => {}); // reconnects on its own; commands meanwhile fail with the reason
  // Upper-case names: ioredis keys its reply transformers by exact name and would turn
  // `hgetall` into an object, while Upstash returns Redis' flat array.
  const named = ([name = '', ...args]: string[]): [string, ...string[]] => [name.toUpperCase(), ...args];
  return {
    kind,
    command: async (args) => (await client.callBuffer(...named(args))) as RedisReply,
    async multi(commands) {
      const transaction = client.multi();
      for (const args of commands) transaction.callBuffer(...named(args));
      const results = (await transaction.exec()) ?? [];
      return results.map(([error, reply]) => error ?? (reply as RedisReply));
    },
    async close() {
      await client.quit().catch(() => client.disconnect());
      await onClose?.();
    },
  };
}

async function startRedisServer(binary: string): Promise<RedisBackend> {
  const port = await freePort();
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()], { stdio: 'ignore' });
  let running = true;
  const exited = new Promise<void>((resolve) => child.once('exit', resolve).once('error', resolve)).then(() => {
    running = false;
  });
  const url = `redis://127.0.0.1:${port}`;
  for (const started = Date.now(); !(await canConnect(url)); await setTimeout(25)) {
    if (!running || Date.now() - started > 5_000) {
      await stopChild(child, exited);
      throw new Error(`${binary} did not start on port ${port}`);
    }
  }
  return ioredisBackend('redis-server', new IORedis(url, { maxRetriesPerRequest: 1 }), () => stopChild(child, exited));
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  child.kill('SIGTERM'); // a no-op when it has already exited
  await exited;
}

function inProcessBackend(): RedisBackend {
  // ioredis-mock shares data between instances with the same host:port; a unique host isolates this one.
  const mock = new RedisMock({ host: `in-process-${randomUUID()}` }) as unknown as Record<string, unknown>;
  const builtins = new Set(IORedis.prototype.getBuiltinCommands());
  // The mock has a method per command; its `…Buffer` twin replies with Buffers like Redis does.
  const method = ([name = '', ...args]: string[]): [string, ...string[]] => {
    const lower = name.toLowerCase();
    if (!builtins.has(lower) || typeof mock[lower] !== 'function') {
      throw new Error(`ERR unknown command '${name}', with args beginning with: ${args.map((arg) => `'${arg}'`).join(' ')}`);
    }
    const callable = typeof mock[`${lower}Buffer`] === 'function' ? `${lower}Buffer` : lower;
    const [script, ...rest] = args;
    if ((lower === 'eval' || lower === 'eval_ro') && script !== undefined) return [callable, MOCK_LUA_PRELUDE + script, ...rest];
    return [callable, ...args];
  };
  const asRedis = mock as unknown as IORedis;
  return {
    kind: 'in-process',
    async command(args) {
      const [name, ...rest] = method(args);
      return asRedisReply(await (mock[name] as (...a: string[]) => Promise<unknown>).apply(mock, rest));
    },
    async multi(commands) {
      const results = (await asRedis.multi(commands.map(method)).exec()) ?? [];
      return results.map(([error, reply]) => error ?? asRedisReply(reply));
    },
    async close() {
      await asRedis.flushall();
      asRedis.disconnect();
    },
  };
}

/**
 * In ioredis-mock's Lua, an array reply of `redis.call` is a JS proxy whose nil entries are a
 * JS-null userdata, where Redis gives a table with `false` (so `redis.call('HMGET', …)[1] == false` fails and
 * @upstash/ratelimit's token bucket breaks). This converts the reply to what Redis gives.
 * Kept on one line so that Lua's error messages keep the script's own line numbers.
 */
const MOCK_LUA_PRELUDE = `
  local mockCall = redis.call
  redis.call = function(...)
    local reply = mockCall(...)
    if type(reply) ~= 'userdata' then return reply end
    local items = {}
    for i = 1, #reply do
      local item = reply[i]
      if type(item) == 'userdata' and tostring(item) == 'null' then item = false end
      items[i] = item
    end
    return items
  end
`.replace(/\s*\n\s*/g, ' ');

/**
 * Puts the mock's replies in Redis' shapes: HGETALL gives an object where Redis gives a flat
 * array, and script results keep Lua booleans and fractions where Redis converts them
 * (true → 1, false → nil, numbers truncated to integers).
 */
function asRedisReply(reply: unknown): RedisReply {
  if (typeof reply === 'boolean') return reply ? 1 : null;
  if (typeof reply === 'number') return Math.trunc(reply);
  if (reply === null || typeof reply !== 'object' || Buffer.isBuffer(reply)) return reply as RedisReply;
  if (Array.isArray(reply)) return reply.map(asRedisReply);
  return Object.entries(reply).flatMap(([key, value]) => [key, asRedisReply(value)]);
}

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
