/// <reference types="node" />
/**
 * The local stand-in for Neon and Upstash: one HTTP server on 127.0.0.1 that speaks both
 * protocols, so the production drivers run unchanged in `wrangler dev` and in tests.
 *
 *   POST /sql                            Neon SQL-over-HTTP
 *   POST /, /pipeline, /multi-exec       Upstash Redis REST (also GET|POST /<cmd>/<arg>/…)
 *   GET /__roundtrips/<requestId>        {"neon": n, "upstash": m} for requests sent with X-Request-Id
 *   GET /__calls/<requestId>             {"maxInFlight", "calls": [{protocol, command, start, end}], "injectedWaitMs",
 *                                        "injectedTotalMs"}: their order, and how long injected latency held them
 *   DELETE /__roundtrips                 forget all counts and calls
 *   PUT /__latency/<requestIdPrefix>     {"neon": ms, "upstash": ms}: delay each call of matching requests
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CallLog, type Latency, type Protocol } from './call-log';
import { createNeonHandler } from './neon-http';
import { openRedisBackend, type RedisBackend } from './redis-backend';
import { openSqlBackend, type SqlBackend } from './sql-backend';
import { createUpstashHandler } from './upstash-rest';
import { migrateUp } from '../scripts/lib/migrations';

export interface LocalStackOptions {
  /** A Postgres server to use when it answers; otherwise embedded PGlite. */
  databaseUrl?: string;
  /** A Redis server to use when it answers; otherwise a spawned `redis-server`, else in-process. */
  redisUrl?: string;
  /** false: never spawn `redis-server` (fall back to the in-process Redis directly). */
  spawnRedisServer?: boolean;
  /** PGlite's data directory; omitted = in memory. */
  pgliteDir?: string;
  /** 0 or omitted = a free port. */
  port?: number;
  /** The Upstash bearer token to require; omitted = a random one. */
  token?: string;
  /** Apply pending migrations before serving. */
  migrate?: boolean;
  log?: (line: string) => void;
}

/** The role the Worker connects as (created by migration 0001): no BYPASSRLS, owns nothing. */
export const API_ROLE = 'app_api';

export interface LocalStack {
  /** http://127.0.0.1:PORT */
  url: string;
  /** For `neonConfig.fetchEndpoint`. */
  neonFetchEndpoint: string;
  upstashUrl: string;
  upstashToken: string;
  /** The Worker's DB_URL: the API role on the backing database. */
  appDatabaseUrl: string;
  backends: { sql: SqlBackend['kind']; redis: RedisBackend['kind'] };
  /** Direct access to the SQL backend (setup, migrations), bypassing HTTP. */
  sql: SqlBackend;
  /** Delays every later call of requests whose X-Request-Id starts with `requestIdPrefix` (as PUT /__latency). */
  injectLatency(requestIdPrefix: string, latency: Latency): void;
  stop(): Promise<void>;
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const log = opts.log ?? (() => {});
  const [sql, redis] = await openBoth(
    openSqlBackend({ databaseUrl: opts.databaseUrl, pgliteDir: opts.pgliteDir }),
    openRedisBackend({ url: opts.redisUrl, spawnServer: opts.spawnRedisServer }),
  );
  if (opts.migrate) {
    const applied = await sql.admin((db) => migrateUp(db));
    log(applied.length ? `migrations applied: ${applied.join(', ')}` : 'migrations up to date');
  }
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const neon = createNeonHandler(sql);
  const upstash = createUpstashHandler(redis, token);
  const calls = new CallLog();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const method = req.method ?? 'GET';
    const control = path.match(/^\/__(roundtrips|calls|latency)\/(.+)$/);
    if (method === 'GET' && control?.[1] === 'roundtrips') return send(res, 200, calls.roundTrips(decodeURIComponent(control[2]!)));
    if (method === 'GET' && control?.[1] === 'calls') return send(res, 200, calls.timeline(decodeURIComponent(control[2]!)));
    if (method === 'PUT' && control?.[1] === 'latency') {
      const latency = parseLatency(await readBody(req));
      if (!latency) return send(res, 400, { message: 'expected {"neon": ms, "upstash": ms}' });
      calls.injectLatency(decodeURIComponent(control[2]!), latency);
      return send(res, 204);
    }
    if (method === 'DELETE' && path === '/__roundtrips') {
      calls.clear();
      return send(res, 204);
    }

    const protocol: Protocol = path === '/sql' ? 'neon' : 'upstash';
    const requestId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : undefined;
    const body = await readBody(req);
    const call = requestId === undefined ? undefined : calls.begin(requestId, protocol, commandOf(protocol, path, body));
    try {
      await call?.wait();
      const reply = await serve(protocol, method, path, req.headers, body);
      send(res, reply.status, reply.json);
    } finally {
      call?.end();
    }
  }

  async function serve(protocol: Protocol, method: string, path: string, headers: IncomingMessage['headers'], body: string) {
    if (protocol === 'upstash') return upstash({ method, path, headers, body });
    if (method !== 'POST') return { status: 405, json: { message: 'POST /sql' } };
    return neon(headers, body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log(`${req.method} ${req.url} failed: ${error instanceof Error ? error.stack : String(error)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(error instanceof Error ? error.message : 'internal error');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  log(`listening on ${url}: Neon SQL (/sql) backed by ${sql.kind}, Upstash REST (/) backed by ${redis.kind}`);

  let stopped: Promise<void> | undefined;
  return {
    url,
    neonFetchEndpoint: `${url}/sql`,
    upstashUrl: url,
    upstashToken: token,
    appDatabaseUrl: appDatabaseUrl(sql.kind === 'postgres' ? opts.databaseUrl : undefined),
    backends: { sql: sql.kind, redis: redis.kind },
    sql,
    injectLatency: (prefix, latency) => calls.injectLatency(prefix, latency),
    stop() {
      stopped ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections(); // keep-alive sockets would hold close() open
        });
        await Promise.all([sql.close(), redis.close()]);
      })();
      return stopped;
    },
  };
}

/** Stops the stack on Ctrl-C / SIGTERM (closing PGlite cleanly, ending a spawned redis-server), then exits. */
export function stopOnSignals(stack: LocalStack): void {
  const stop = () => void stack.stop().finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** The server's URL with the API role as user; PGlite ignores host and database, only the role counts. */
function appDatabaseUrl(serverUrl: string | undefined): string {
  const url = new URL(serverUrl ?? 'postgres://pglite.local/postgres');
  url.username = API_ROLE;
  url.password = '';
  return url.toString();
}

/** Opens both backends side by side; if one fails, the other is closed before rethrowing. */
async function openBoth(sql: Promise<SqlBackend>, redis: Promise<RedisBackend>): Promise<[SqlBackend, RedisBackend]> {
  const [s, r] = await Promise.allSettled([sql, redis]);
  if (s.status === 'fulfilled' && r.status === 'fulfilled') return [s.value, r.value];
  await Promise.all([s, r].map((settled) => (settled.status === 'fulfilled' ? settled.value.close() : undefined)));
  throw s.status === 'rejected' ? s.reason : (r as PromiseRejectedResult).reason;
}

function parseLatency(body: string): Latency | null {
  try {
    const { neon = 0, upstash = 0 } = JSON.parse(body) as Partial<Latency>;
    return [neon, upstash].every((ms) => Number.isFinite(ms) && ms >= 0) ? { neon, upstash } : null;
  } catch {
    return null;
  }
}

/** What a call was, for the timeline: the Redis command, or whether Neon got one query or a batch. */
function commandOf(protocol: Protocol, path: string, body: string): string {
  if (protocol === 'neon') return body.startsWith('{"queries"') ? 'batch' : 'query';
  if (path !== '/') return path.split('/')[1]!.toLowerCase();
  const first = body.match(/^\[\s*"([^"]+)"/);
  return first ? first[1]!.toLowerCase() : 'unknown';
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, json?: unknown): void {
  if (json === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
}
