import { neon, neonConfig } from '@neondatabase/serverless';
import { Redis } from '@upstash/redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Call, Timeline } from '../../local/call-log';
import { startLocalStack, type LocalStack } from '../../local/stack';

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('round-trip counter', () => {
  let stack: LocalStack;
  const lines: string[] = [];

  beforeAll(async () => {
    stack = await startLocalStack({ databaseUrl: DATABASE_URL, redisUrl: REDIS_URL, log: (line) => lines.push(line) });
    neonConfig.fetchEndpoint = stack.neonFetchEndpoint;
  });
  afterAll(() => stack?.stop());
  afterEach(() => {
    neonConfig.fetchFunction = undefined;
  });

  const counts = async (requestId: string) => (await fetch(`${stack.url}/__roundtrips/${requestId}`)).json();

  it('logs which backends it chose', () => {
    expect(stack.backends).toEqual({ sql: 'postgres', redis: 'redis' });
    expect(lines).toEqual([`listening on ${stack.url}: Neon SQL (/sql) backed by postgres, Upstash REST (/) backed by redis`]);
  });

  it('counts requests per X-Request-Id and protocol, and clears on DELETE', async () => {
    // neon() cannot add a header through fetchOptions (see below), so the Worker passes the id
    // as an extra fetch option and one fetchFunction turns it into the header.
    neonConfig.fetchFunction = (url: string, { requestId, ...init }: RequestInit & { requestId?: string }) =>
      fetch(url, requestId ? { ...init, headers: { ...(init.headers as Record<string, string>), 'X-Request-Id': requestId } } : init);
    const sql = neon(DATABASE_URL, { fetchOptions: { requestId: 'req-1' } });
    await sql`SELECT 1`;
    await sql.transaction([sql`SELECT 1`, sql`SELECT 2`]);

    const redis = new Redis({ url: stack.upstashUrl, token: stack.upstashToken, enableTelemetry: false });
    (redis as unknown as { client: { headers: Record<string, string> } }).client.headers['x-request-id'] = 'req-1';
    await redis.pipeline().get('local-stack:a').get('local-stack:b').exec();

    expect(await counts('req-1')).toEqual({ neon: 2, upstash: 1 });
    expect(await counts('never-seen')).toEqual({ neon: 0, upstash: 0 });
    expect((await fetch(`${stack.url}/__roundtrips`, { method: 'DELETE' })).status).toBe(204);
    expect(await counts('req-1')).toEqual({ neon: 0, upstash: 0 });
  });

  it('records the order of a request\'s calls and how many were in flight at once, delayed as asked', async () => {
    const put = (prefix: string, body: string) => fetch(`${stack.url}/__latency/${prefix}`, { method: 'PUT', body });
    expect((await put('req-3', '{"upstash": -1}')).status).toBe(400);
    // Held 100 ms each, two calls sent together are certainly in flight together.
    expect((await put('req-3', '{"neon": 100, "upstash": 100}')).status).toBe(204);
    const redis = new Redis({ url: stack.upstashUrl, token: stack.upstashToken, enableTelemetry: false, enableAutoPipelining: false });
    (redis as unknown as { client: { headers: Record<string, string> } }).client.headers['x-request-id'] = 'req-3';
    await Promise.all([redis.get('local-stack:a'), redis.get('local-stack:b')]);
    await redis.pipeline().set('local-stack:c', 1).del('local-stack:c').exec();

    const timeline = (await (await fetch(`${stack.url}/__calls/req-3`)).json()) as Timeline;
    expect(timeline.maxInFlight).toBe(2);
    expect(timeline.calls.map((call) => call.command)).toEqual(['get', 'get', 'pipeline']);
    const [a, b, c] = timeline.calls as Required<Call>[];
    expect(b!.start).toBeLessThan(a!.end);
    expect(Math.max(a!.end, b!.end)).toBeLessThan(c!.start);
    expect(timeline.injectedWaitMs).toBeGreaterThan(0);
    // The two GETs were held side by side, so their delays overlapped and counted once.
    expect(timeline.injectedWaitMs).toBeLessThan(timeline.injectedTotalMs);

    (redis as unknown as { client: { headers: Record<string, string> } }).client.headers['x-request-id'] = 'other-4';
    await redis.get('local-stack:a');
    expect(await (await fetch(`${stack.url}/__calls/other-4`)).json()).toMatchObject({ maxInFlight: 1, injectedWaitMs: 0, injectedTotalMs: 0 });
    expect(await (await fetch(`${stack.url}/__calls/never-seen`)).json()).toEqual({ maxInFlight: 0, calls: [], injectedWaitMs: 0, injectedTotalMs: 0 });
  });

  it("loses the driver's Neon-* headers when fetchOptions carries headers", async () => {
    const sql = neon(DATABASE_URL, { fetchOptions: { headers: { 'X-Request-Id': 'req-2' } } });
    await expect(sql`SELECT 1`).rejects.toThrow(/missing Neon-Connection-String/);
  });
});

describe('without reachable servers', () => {
  // Applying every migration in PGlite (WASM) grows with each system: 0015's 27 factory tables
  // and their policies take it from about 2.8 s to 5 s on a loaded machine, past the default.
  it('falls back to PGlite and a redis-server of its own', async () => {
    const stack = await startLocalStack({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', redisUrl: 'redis://127.0.0.1:1' });
    try {
      expect(stack.backends).toEqual({ sql: 'pglite', redis: 'redis-server' });
      neonConfig.fetchEndpoint = stack.neonFetchEndpoint;
      expect(await neon('postgres://postgres@localhost/app')`SELECT current_user AS who`).toEqual([{ who: 'postgres' }]);
      const redis = new Redis({ url: stack.upstashUrl, token: stack.upstashToken, enableTelemetry: false });
      expect(await redis.ping()).toBe('PONG');
    } finally {
      await stack.stop();
    }
  }, 60_000);
});
