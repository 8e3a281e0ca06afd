import { createHash, randomBytes } from 'node:crypto';
import { Ratelimit } from '@upstash/ratelimit';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../local/stack';

// The real @upstash/redis and @upstash/ratelimit clients against the local endpoint, over the
// Redis server on this machine and over the in-process fallback (ioredis-mock).
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

describe.each([
  ['redis', { redisUrl: REDIS_URL }],
  ['in-process', { spawnRedisServer: false }],
] as const)('Upstash REST on %s', (kind, backend) => {
  const prefix = `local-upstash-${randomBytes(4).toString('hex')}:`;
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack({ ...backend, databaseUrl: DATABASE_URL });
    expect(stack.backends.redis).toBe(kind);
  });

  afterAll(async () => {
    if (!stack) return;
    const redis = client();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await stack.stop();
  });

  function client(options: { responseEncoding?: false } = {}) {
    return new Redis({ url: stack.upstashUrl, token: stack.upstashToken, enableTelemetry: false, ...options });
  }

  /** The Worker's way to tag its calls: @upstash/redis has no `headers` option. */
  function tag(redis: Redis, requestId: string): void {
    (redis as unknown as { client: { headers: Record<string, string> } }).client.headers['x-request-id'] = requestId;
  }

  async function roundTrips(requestId: string): Promise<{ neon: number; upstash: number }> {
    return (await fetch(`${stack.url}/__roundtrips/${requestId}`)).json() as Promise<{ neon: number; upstash: number }>;
  }

  describe.each([
    ['base64 replies', {}],
    ['plain replies', { responseEncoding: false }],
  ] as const)('with %s', (encoding, options) => {
    const key = (name: string) => `${prefix}${encoding}:${name}`;

    it('sets and gets JSON values, counters and hashes', async () => {
      const redis = client(options);
      expect(await redis.set(key('json'), { a: 1, nested: { list: [true, null, 'ü'] } })).toBe('OK');
      expect(await redis.get(key('json'))).toEqual({ a: 1, nested: { list: [true, null, 'ü'] } });
      expect(await redis.get(key('missing'))).toBeNull();
      expect(await redis.incr(key('counter'))).toBe(1);
      expect(await redis.incrby(key('counter'), 41)).toBe(42);
      expect(await redis.hset(key('hash'), { name: 'Ada', age: 36 })).toBe(2);
      expect(await redis.hgetall(key('hash'))).toEqual({ name: 'Ada', age: 36 });
      expect(await redis.expire(key('hash'), 100)).toBe(1);
      expect(await redis.ttl(key('hash'))).toBeGreaterThan(90);
      expect(await redis.del(key('json'), key('hash'), key('missing'))).toBe(2);
      expect(await redis.exists(key('json'))).toBe(0);
    });

    it('keeps unicode and binary-ish strings intact', async () => {
      const redis = client(options);
      const text = 'héllo wörld 漢字 🎉 \u0000\u0001\u001f\u007f tab\tnew\nline "quoted" \\ OK';
      await redis.set(key('text'), text);
      expect(await redis.get(key('text'))).toBe(text);
      await redis.set(key('ok'), 'OK'); // the one string base64 mode leaves bare
      expect(await redis.get(key('ok'))).toBe('OK');
      await redis.rpush(key('list'), 'ä', '🎉', 'OK');
      expect(await redis.lrange(key('list'), 0, -1)).toEqual(['ä', '🎉', 'OK']);
    });

    it('runs a pipeline in one request, reporting each command', async () => {
      const redis = client(options);
      tag(redis, `${key('pipeline')}`);
      const results = await redis.pipeline().set(key('p'), 'v').incr(key('pn')).get(key('p')).hincrby(key('ph'), 'f', 3).exec();
      expect(results).toEqual(['OK', 1, 'v', 3]);
      expect(await roundTrips(key('pipeline'))).toEqual({ neon: 0, upstash: 1 });
      const kept = await redis.pipeline().evalsha('0'.repeat(40), [], []).get(key('p')).exec({ keepErrors: true });
      expect(kept[0]!.error).toMatch(/NOSCRIPT/);
      expect(kept[1]).toEqual({ error: undefined, result: 'v' });
    });

    it('runs multi-exec in one request', async () => {
      const redis = client(options);
      tag(redis, `${key('multi')}`);
      expect(await redis.multi().set(key('m'), '1').incr(key('m')).get(key('m')).exec()).toEqual(['OK', 2, 2]);
      expect(await roundTrips(key('multi'))).toEqual({ neon: 0, upstash: 1 });
    });

    it('reports command errors', async () => {
      await expect(client(options).evalsha('0'.repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
    });

    // ioredis-mock does not check value types: WRONGTYPE needs a real Redis.
    it.runIf(kind === 'redis')('reports type errors, also per command inside MULTI', async () => {
      const redis = client(options);
      await redis.set(key('str'), 'x');
      await expect(redis.hget(key('str'), 'f')).rejects.toThrow(/WRONGTYPE/);
      await expect(redis.multi().set(key('mh'), 'x').hincrby(key('mh'), 'f', 1).exec()).rejects.toThrow(/WRONGTYPE/);
      expect(await redis.get(key('mh'))).toBe('x'); // EXEC does not roll back, as in Redis
    });
  });

  describe('@upstash/ratelimit', () => {
    const limiters = [
      ['fixed window', Ratelimit.fixedWindow(5, '1 h')],
      ['sliding window', Ratelimit.slidingWindow(5, '1 h')],
      ['token bucket', Ratelimit.tokenBucket(1, '1 h', 5)],
    ] as const;

    it('loads its scripts once: EVALSHA after the first call, no NOSCRIPT retry', async () => {
      const redis = client();
      const ratelimit = new Ratelimit({ redis, limiter: Ratelimit.fixedWindow(100, '1 h'), prefix: `${prefix}evalsha` });
      const counts = [];
      for (let call = 0; call < 4; call++) {
        const requestId = `${prefix}evalsha-${call}`;
        tag(redis, requestId);
        await ratelimit.limit('user');
        counts.push((await roundTrips(requestId)).upstash);
      }
      expect(counts).toEqual([2, 1, 1, 1]); // EVALSHA → NOSCRIPT → EVAL, then EVALSHA alone
    });

    it.each(limiters)('enforces a %s limit of 5 exactly', async (name, limiter) => {
      const ratelimit = new Ratelimit({ redis: client(), limiter, prefix: `${prefix}${name}` });
      const outcomes = [];
      for (let call = 0; call < 6; call++) outcomes.push(await ratelimit.limit('user'));
      expect(outcomes.map((outcome) => outcome.success)).toEqual([true, true, true, true, true, false]);
      expect(outcomes.map((outcome) => outcome.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
      expect((await ratelimit.limit('someone else')).success).toBe(true);
    });
  });

  describe('protocol details', () => {
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${stack.upstashUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.upstashToken}`, ...headers },
        body: JSON.stringify(body),
      });

    it('rejects a wrong or missing bearer token with 401', async () => {
      const wrong = await post('/', ['PING'], { authorization: 'Bearer nope' });
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toEqual({ error: 'Unauthorized' });
      const missing = await fetch(`${stack.upstashUrl}/`, { method: 'POST', body: '["PING"]' });
      expect(missing.status).toBe(401);
      const redis = new Redis({ url: stack.upstashUrl, token: 'wrong', enableTelemetry: false, retry: false });
      await expect(redis.get('x')).rejects.toThrow(/Unauthorized/);
    });

    it('encodes every string but a top-level OK in base64 mode, and keeps integers', async () => {
      const base64 = { 'Upstash-Encoding': 'base64' };
      expect(await (await post('/', ['SET', `${prefix}raw`, 'ü'], base64)).json()).toEqual({ result: 'OK' });
      expect(await (await post('/', ['GET', `${prefix}raw`], base64)).json()).toEqual({ result: Buffer.from('ü').toString('base64') });
      expect(await (await post('/', ['GET', `${prefix}raw`])).json()).toEqual({ result: 'ü' });
      const pipeline = await post('/pipeline', [['INCR', `${prefix}rawn`], ['MGET', `${prefix}raw`, `${prefix}nope`], ['NOSUCHCOMMAND']], base64);
      expect(await pipeline.json()).toEqual([
        { result: 1 },
        { result: [Buffer.from('ü').toString('base64'), null] },
        { error: expect.stringMatching(/^ERR unknown command/) },
      ]);
    });

    it("converts script results as Redis does, and strips Upstash's Lua shebang", async () => {
      const script = "#!lua flags=allow-key-locking\nreturn {1, 'x', true, false, 2.7, redis.call('INCR', KEYS[1])}";
      expect(await (await post('/', ['EVAL', script, '1', `${prefix}lua`])).json()).toEqual({ result: [1, 'x', 1, null, 2, 1] });
      const redis = client();
      const sha = await redis.scriptLoad(script);
      expect(sha).toBe(createHash('sha1').update(script).digest('hex')); // the hash of the text as sent
      expect(await redis.evalsha(sha, [`${prefix}lua`], [])).toEqual([1, 'x', 1, null, 2, 2]);
    });

    it('answers errors with HTTP 400, and aborts a transaction with a malformed command', async () => {
      const single = await post('/', ['NOSUCHCOMMAND', 'x']);
      expect(single.status).toBe(400);
      expect(await single.json()).toEqual({ error: expect.stringMatching(/^ERR unknown command/) });
      expect((await post('/', ['MULTI'])).status).toBe(400); // would wedge the shared connection
      const aborted = await post('/multi-exec', [['SET', `${prefix}tx`, '1'], ['NOSUCHCOMMAND']]);
      expect(aborted.status).toBe(400);
      expect(await (await post('/', ['EXISTS', `${prefix}tx`])).json()).toEqual({ result: 0 });
    });

    it('accepts the path form /<command>/<args>', async () => {
      const auth = { authorization: `Bearer ${stack.upstashToken}` };
      expect(await (await fetch(`${stack.upstashUrl}/set/${prefix}path/a%2Fb`, { headers: auth })).json()).toEqual({ result: 'OK' });
      expect(await (await fetch(`${stack.upstashUrl}/get/${prefix}path`, { headers: auth })).json()).toEqual({ result: 'a/b' });
      await fetch(`${stack.upstashUrl}/set/${prefix}path`, { method: 'POST', headers: auth, body: 'from body' });
      expect(await (await fetch(`${stack.upstashUrl}/get/${prefix}path`, { headers: auth })).json()).toEqual({ result: 'from body' });
    });
  });
});
