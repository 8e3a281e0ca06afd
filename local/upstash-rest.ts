/// <reference types="node" />
/**
 * Upstash's Redis REST protocol, as `@upstash/redis` speaks it: `POST /` with one command as a
 * JSON array, `POST /pipeline` and `POST /multi-exec` with an array of them (also the path form
 * `/set/key/value`), `Authorization: Bearer <token>`, replies `{result}` / `{error}`.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { RedisBackend, RedisReply } from './redis-backend';

export interface JsonReply {
  status: number;
  json: unknown;
}

export interface UpstashRequest {
  method: string;
  /** URL path without the query string, e.g. `/pipeline`. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type UpstashHandler = (request: UpstashRequest) => Promise<JsonReply>;

/**
 * Commands that would change the state of the shared connection (or need a session), which
 * one stateless REST call cannot use.
 */
const SESSION_COMMANDS = new Set([
  'multi', 'exec', 'discard', 'watch', 'unwatch', 'select', 'quit', 'reset', 'monitor', 'sync', 'psync',
  'subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe',
]);

export function createUpstashHandler(redis: RedisBackend, token: string): UpstashHandler {
  const scripts = new ScriptCache();

  /** Runs one command; a Redis error becomes `{error}` like Upstash's. */
  async function run(args: string[], base64: boolean): Promise<{ result: unknown } | { error: string }> {
    try {
      return { result: encode(await redis.command(scripts.rewrite(args)), base64) };
    } catch (error) {
      return { error: (error as Error).message };
    }
  }

  return async ({ method, path, headers, body }) => {
    if (headers.authorization !== `Bearer ${token}`) return { status: 401, json: { error: 'Unauthorized' } };
    const base64 = headers['upstash-encoding'] === 'base64';
    try {
      if (method === 'POST' && (path === '/pipeline' || path === '/multi-exec')) {
        const batch = parseJson(body);
        if (!Array.isArray(batch)) throw new RequestError('ERR expected an array of commands');
        const commands = batch.map(toCommand);
        if (path === '/pipeline') {
          const replies = [];
          for (const args of commands) replies.push(await run(args, base64)); // in order, not atomic
          return { status: 200, json: replies };
        }
        return { status: 200, json: await runTransaction(commands, base64) };
      }
      const args = method === 'POST' && path === '/' ? toCommand(parseJson(body)) : pathCommand(method, path, body);
      const reply = await run(args, base64);
      return { status: 'error' in reply ? 400 : 200, json: reply };
    } catch (error) {
      if (error instanceof RequestError) return { status: 400, json: { error: error.message } };
      throw error;
    }
  };

  async function runTransaction(commands: string[][], base64: boolean) {
    let replies: (RedisReply | Error)[];
    try {
      replies = await redis.multi(commands.map((args) => scripts.rewrite(args)));
    } catch (error) {
      throw new RequestError((error as Error).message); // e.g. EXECABORT: nothing ran
    }
    return replies.map((reply) => (reply instanceof Error ? { error: reply.message } : { result: encode(reply, base64) }));
  }
}

class RequestError extends Error {}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new RequestError('ERR failed to parse the request body as JSON');
  }
}

/** `["SET", "k", 1]` → `["SET", "k", "1"]`: Redis arguments are strings. */
function toCommand(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new RequestError('ERR a command must be a non-empty JSON array');
  const args = value.map((arg) => {
    if (arg === null) return ''; // as ioredis sends it (@upstash/ratelimit passes null for unused ARGV)
    if (typeof arg === 'string' || typeof arg === 'number' || typeof arg === 'boolean') return String(arg);
    throw new RequestError('ERR command arguments must be strings, numbers or booleans');
  });
  if (SESSION_COMMANDS.has(args[0]!.toLowerCase())) throw new RequestError(`ERR '${args[0]}' is not available over REST`);
  return args;
}

/** `GET /incr/counter`, or `POST /set/key` with the value as body (Upstash's path form). */
function pathCommand(method: string, path: string, body: string): string[] {
  if (method !== 'GET' && method !== 'POST') throw new RequestError(`ERR method ${method} is not supported`);
  const segments = path.split('/').filter(Boolean).map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw new RequestError(`ERR malformed path segment: ${segment}`);
    }
  });
  if (method === 'POST' && body !== '') segments.push(body);
  return toCommand(segments);
}

/**
 * With `Upstash-Encoding: base64` every string of the reply is base64 except a top-level "OK",
 * which @upstash/redis leaves undecoded; integers stay numbers. Without it strings are UTF-8.
 */
function encode(reply: RedisReply, base64: boolean, topLevel = true): unknown {
  if (reply === null || typeof reply === 'number') return reply;
  if (Array.isArray(reply)) return reply.map((item) => encode(item, base64, false));
  const bytes = Buffer.isBuffer(reply) ? reply : Buffer.from(reply);
  if (!base64 || (topLevel && bytes.equals(OK))) return bytes.toString('utf8');
  return bytes.toString('base64');
}
const OK = Buffer.from('OK');

/**
 * @upstash/ratelimit's scripts start with `#!lua flags=allow-key-locking`, a flag only Upstash
 * knows (Redis 7 rejects it, older Redis and ioredis-mock reject any shebang). Scripts are
 * registered under the SHA-1 of the text the client sent, so its EVALSHA finds them, and run
 * as EVAL of the text without that line: no NOSCRIPT round trip after the first, even when the
 * backend restarted or cannot load scripts.
 */
class ScriptCache {
  readonly #byHash = new Map<string, string>();

  rewrite(args: string[]): string[] {
    const [name = '', first = '', ...rest] = args;
    switch (name.toLowerCase()) {
      case 'eval':
      case 'eval_ro':
        return [name, this.#register(first).script, ...rest];
      case 'evalsha':
      case 'evalsha_ro': {
        const script = this.#byHash.get(first.toLowerCase());
        if (script === undefined) return args;
        return [name.toLowerCase() === 'evalsha' ? 'eval' : 'eval_ro', script, ...rest];
      }
      case 'script':
        // The client expects the hash of its own text; ECHO returns it through the backend,
        // so SCRIPT LOAD also works inside a pipeline or transaction and on the mock.
        if (first.toLowerCase() === 'load' && rest.length === 1) return ['echo', this.#register(rest[0]!).hash];
        return args;
      default:
        return args;
    }
  }

  #register(text: string): { hash: string; script: string } {
    const hash = createHash('sha1').update(text).digest('hex');
    const script = text.replace(/^#!lua[^\n]*\n/, '');
    this.#byHash.set(hash, script);
    return { hash, script };
  }
}
