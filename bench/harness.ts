import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import { unstable_dev } from "wrangler";
import { createScratchDatabase } from "../local/scratch-db";
import { startLocalStack, type LocalStack } from "../local/stack";
import { wranglerVar } from "../scripts/lib/dev-keys";

/** What a bench module gets: the Worker's URL, tokens, the local stack, and a measuring loop. */
export interface BenchContext {
  baseUrl: string;
  stack: LocalStack;
  token(sub: string, roles?: string[]): Promise<string>;
  /** Fires `total` requests, `concurrency` at a time, and prints p50, p99, requests/s and round trips. */
  measure(name: string, opts: { total: number; concurrency: number }, request: (i: number) => Request): Promise<Stats>;
}

export interface Stats {
  name: string;
  p50Ms: number;
  p99Ms: number;
  rps: number;
  neonPerRequest: number;
  upstashPerRequest: number;
  errors: number;
}

/**
 * Starts the local stack (the Postgres and Redis servers on 127.0.0.1 when reachable, in a
 * scratch database; else the embedded backends) and the Worker under `wrangler dev`'s runtime.
 */
export async function startBench(): Promise<BenchContext & { stop(): Promise<void> }> {
  const scratch = await createScratchDatabase(process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres", "edge_bench");
  const stack = await startLocalStack({
    databaseUrl: scratch?.adminUrl,
    redisUrl: process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379",
    migrate: true,
  });
  const keys = await generateKeyPair("RS256", { extractable: true });
  const worker = await unstable_dev("functions/worker.ts", {
    config: "wrangler.toml",
    vars: {
      API_JWT_PUBLIC_KEY: await exportSPKI(keys.publicKey),
      DB_URL: stack.appDatabaseUrl,
      NEON_FETCH_ENDPOINT: stack.neonFetchEndpoint,
      REDIS_URL: stack.upstashUrl,
      UPSTASH_REDIS_REST_TOKEN: stack.upstashToken,
      RATE_LIMIT_MAX: "100000000",
    },
    ip: "127.0.0.1",
    logLevel: "error",
    experimental: { disableExperimentalWarning: true },
  });
  const baseUrl = `http://127.0.0.1:${worker.port}`;
  console.log(`bench: worker ${baseUrl}; postgres=${stack.backends.sql} redis=${stack.backends.redis}`);

  return {
    baseUrl,
    stack,
    async token(sub, roles = []) {
      return new SignJWT({ roles })
        .setProtectedHeader({ alg: "RS256" })
        .setSubject(sub)
        .setIssuer(wranglerVar("API_JWT_ISSUER"))
        .setAudience(wranglerVar("API_JWT_AUDIENCE"))
        .setExpirationTime("2h")
        .sign(keys.privateKey);
    },
    measure: (name, opts, request) => measure(baseUrl, stack, name, opts, request),
    async stop() {
      await worker.stop();
      await stack.stop();
      await scratch?.drop();
    },
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

async function measure(
  baseUrl: string,
  stack: LocalStack,
  name: string,
  { total, concurrency }: { total: number; concurrency: number },
  request: (i: number) => Request,
): Promise<Stats> {
  const latencies: number[] = [];
  const ids: string[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const id = `bench-${name.replace(/\W+/g, "-")}-${i}-${Math.random().toString(36).slice(2)}`;
        const original = request(i);
        const req = new Request(new URL(new URL(original.url).pathname + new URL(original.url).search, baseUrl), original);
        req.headers.set("X-Request-Id", id);
        const t0 = performance.now();
        const res = await fetch(req);
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
        if (res.status >= 400) errors++;
        ids.push(id);
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  // Round trips are read after the timed loop so counting costs nothing during it.
  const sample = ids.slice(0, 200);
  const counts = await Promise.all(sample.map(async (id) => (await fetch(`${stack.url}/__roundtrips/${id}`)).json() as Promise<{ neon: number; upstash: number }>));
  latencies.sort((a, b) => a - b);
  const stats: Stats = {
    name,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    rps: total / elapsedS,
    neonPerRequest: counts.reduce((s, c) => s + c.neon, 0) / counts.length,
    upstashPerRequest: counts.reduce((s, c) => s + c.upstash, 0) / counts.length,
    errors,
  };
  console.log(
    `${name.padEnd(40)} p50 ${stats.p50Ms.toFixed(1)} ms  p99 ${stats.p99Ms.toFixed(1)} ms  ${stats.rps.toFixed(0)} req/s  ` +
      `postgres ${stats.neonPerRequest.toFixed(2)}/req  redis ${stats.upstashPerRequest.toFixed(2)}/req  errors ${errors}/${total}`,
  );
  return stats;
}
