/// <reference types="node" />
/**
 * The local stand-in for Neon and Upstash: one HTTP server on 127.0.0.1 that speaks both
 * protocols, so the production drivers run unchanged in `wrangler dev` and in tests.
 *
 *   POST /sql                            Neon SQL-over-HTTP
 *   POST /, /pipeline, /multi-exec       Upstash Redis REST (also GET|POST /<cmd>/<arg>/…)
 *   GET /__roundtrips/<requestId>        {"neon": n, "upstash": m} for requests sent with X-Request-Id
 *   DELETE /__roundtrips                 forget all counts
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  stop(): Promise<void>;
}

type Protocol = 'neon' | 'upstash';

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
  const roundTrips = new Map<string, Record<Protocol, number>>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const method = req.method ?? 'GET';
    const counted = path.match(/^\/__roundtrips\/(.+)$/);
    if (method === 'GET' && counted) {
      return send(res, 200, roundTrips.get(decodeURIComponent(counted[1]!)) ?? { neon: 0, upstash: 0 });
    }
    if (method === 'DELETE' && path === '/__roundtrips') {
      roundTrips.clear();
      return send(res, 204);
    }

    const protocol: Protocol = path === '/sql' ? 'neon' : 'upstash';
    const requestId = req.headers['x-request-id'];
    if (typeof requestId === 'string') {
      const counts = roundTrips.get(requestId) ?? { neon: 0, upstash: 0 };
      counts[protocol] += 1;
      roundTrips.set(requestId, counts);
    }
    const body = await readBody(req);
    if (protocol === 'neon') {
      if (method !== 'POST') return send(res, 405, { message: 'POST /sql' });
      const reply = await neon(req.headers, body);
      return send(res, reply.status, reply.json);
    }
    const reply = await upstash({ method, path, headers: req.headers, body });
    return send(res, reply.status, reply.json);
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
