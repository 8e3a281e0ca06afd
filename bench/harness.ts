import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import { unstable_dev } from "wrangler";
import { createScratchDatabase } from "../local/scratch-db";
import { startLocalStack, type LocalStack } from "../local/stack";
import { wranglerVar } from "../scripts/lib/dev-keys";

/** Milliseconds the local stack adds in front of each Postgres and Redis call of the injected half. */
export interface InjectedLatency {
  pgMs: number;
  redisMs: number;
}

/** What a bench module gets: the Worker's URL, tokens, the local stack, and a measuring loop. */
export interface BenchContext {
  baseUrl: string;
  stack: LocalStack;
  latency: InjectedLatency;
  /** `claims` adds others (tenant_id, email). */
  token(sub: string, roles?: string[], claims?: Record<string, unknown>): Promise<string>;
  /**
   * Fires `total` requests, `concurrency` at a time, every other one with the injected latency,
   * and prints p50, p99, requests/s, round trips and the latency the injection added.
   */
  measure(name: string, opts: { total: number; concurrency: number }, request: (i: number) => Request): Promise<Stats>;
  /** Every measure() so far, in order. */
  results: Stats[];
}

export interface Stats {
  name: string;
  /** Of the requests without injected latency. */
  p50Ms: number;
  p99Ms: number;
  rps: number;
  neonPerRequest: number;
  upstashPerRequest: number;
  errors: number;
  /** p50 of the requests with injected latency. */
  injectedP50Ms: number;
  /** injectedP50Ms − p50Ms: what the injected latency cost a request at the median. */
  addedMs: number;
  /**
   * Median over the injected requests of the time the local stack held at least one of their
   * calls in its delay (overlapping delays count once): the overlap alone, without CPU noise.
   */
  waitedP50Ms: number;
  /**
   * Median over the injected requests of waited ÷ their delays summed: 1 = the request waited out
   * every delay in turn, 0.5 = half of it overlapped. Measured delays, so timer lag cancels out.
   */
  serialShare: number | null;
  /** What the route would add if its calls ran strictly one after another: PG RTs × pg latency + Redis RTs × redis latency. */
  floorMs: number;
  /** addedMs / floorMs: 1 = no call overlaps another, 0.5 = half the waiting overlapped; null when nothing was injected. */
  ratio: number | null;
}

/** Request ids of the injected half start with this; the local stack delays their calls. */
const INJECTED = "lat-";

/**
 * Starts the local stack (the Postgres and Redis servers on 127.0.0.1 when reachable, in a
 * scratch database; else the embedded backends) and the Worker under `wrangler dev`'s runtime.
 */
export async function startBench(latency: InjectedLatency): Promise<BenchContext & { stop(): Promise<void> }> {
  const scratch = await createScratchDatabase(process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres", "edge_bench");
  const stack = await startLocalStack({
    databaseUrl: scratch?.adminUrl,
    redisUrl: process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379",
    migrate: true,
  });
  stack.injectLatency(INJECTED, { neon: latency.pgMs, upstash: latency.redisMs });
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
      AGENT_USER_REQUESTS_PER_MINUTE: "100000000",
      // Workflow ACTION nodes sign their calls (bench/factory-workflows.bench.ts).
      FACTORY_ACTION_SIGNING_SECRET: `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")}`,
    },
    ip: "127.0.0.1",
    logLevel: "error",
    experimental: { disableExperimentalWarning: true },
  });
  const baseUrl = `http://127.0.0.1:${worker.port}`;
  console.log(
    `bench: worker ${baseUrl}; postgres=${stack.backends.sql} redis=${stack.backends.redis}; ` +
      `injected latency ${latency.pgMs} ms per Postgres and ${latency.redisMs} ms per Redis round trip on every other request`,
  );

  const results: Stats[] = [];
  return {
    baseUrl,
    stack,
    latency,
    results,
    async token(sub, roles = [], claims = {}) {
      return new SignJWT({ ...claims, roles })
        .setProtectedHeader({ alg: "RS256" })
        .setSubject(sub)
        .setIssuer(wranglerVar("API_JWT_ISSUER"))
        .setAudience(wranglerVar("API_JWT_AUDIENCE"))
        .setExpirationTime("2h")
        .sign(keys.privateKey);
    },
    async measure(name, opts, request) {
      const stats = await measure(baseUrl, stack, latency, name, opts, request);
      results.push(stats);
      return stats;
    },
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
  latency: InjectedLatency,
  name: string,
  { total, concurrency }: { total: number; concurrency: number },
  request: (i: number) => Request,
): Promise<Stats> {
  // Both halves interleave in one run, so they share the machine's load and the data's state.
  const plain: number[] = [];
  const injected: number[] = [];
  const ids: string[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const withLatency = i % 2 === 1;
        const id = `${withLatency ? INJECTED : "bench-"}${name.replace(/\W+/g, "-")}-${i}-${Math.random().toString(36).slice(2)}`;
        const original = request(i);
        const req = new Request(new URL(new URL(original.url).pathname + new URL(original.url).search, baseUrl), original);
        req.headers.set("X-Request-Id", id);
        const t0 = performance.now();
        const res = await fetch(req);
        await res.arrayBuffer();
        (withLatency ? injected : plain).push(performance.now() - t0);
        if (res.status >= 400) errors++;
        ids.push(id);
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  // Read after the timed loop so counting costs nothing during it; every request, as a sample of
  // the first ones would over-count cache misses.
  const timelines: { neon: number; upstash: number; injectedWaitMs: number; injectedTotalMs: number; injected: boolean }[] = [];
  for (let from = 0; from < ids.length; from += 50) {
    const chunk = ids.slice(from, from + 50);
    timelines.push(
      ...(await Promise.all(
        chunk.map(async (id) => {
          const [trips, calls] = await Promise.all([
            fetch(`${stack.url}/__roundtrips/${id}`).then((r) => r.json() as Promise<{ neon: number; upstash: number }>),
            fetch(`${stack.url}/__calls/${id}`).then((r) => r.json() as Promise<{ injectedWaitMs: number; injectedTotalMs: number }>),
          ]);
          return { ...trips, ...calls, injected: id.startsWith(INJECTED) };
        }),
      )),
    );
  }
  plain.sort((a, b) => a - b);
  injected.sort((a, b) => a - b);
  const delayed = timelines.filter((t) => t.injected && t.injectedTotalMs > 0);
  const waited = delayed.map((t) => t.injectedWaitMs).sort((a, b) => a - b);
  const serialShares = delayed.map((t) => t.injectedWaitMs / t.injectedTotalMs).sort((a, b) => a - b);
  const neonPerRequest = timelines.reduce((s, c) => s + c.neon, 0) / timelines.length;
  const upstashPerRequest = timelines.reduce((s, c) => s + c.upstash, 0) / timelines.length;
  const p50Ms = percentile(plain, 50);
  const injectedP50Ms = percentile(injected, 50);
  const floorMs = neonPerRequest * latency.pgMs + upstashPerRequest * latency.redisMs;
  const stats: Stats = {
    name,
    p50Ms,
    p99Ms: percentile(plain, 99),
    rps: total / elapsedS,
    neonPerRequest,
    upstashPerRequest,
    errors,
    injectedP50Ms,
    addedMs: injectedP50Ms - p50Ms,
    waitedP50Ms: percentile(waited, 50),
    serialShare: serialShares.length ? percentile(serialShares, 50) : null,
    floorMs,
    ratio: floorMs > 0 ? (injectedP50Ms - p50Ms) / floorMs : null,
  };
  console.log(
    `${name.padEnd(40)} p50 ${stats.p50Ms.toFixed(1)} ms  p99 ${stats.p99Ms.toFixed(1)} ms  ${stats.rps.toFixed(0)} req/s  ` +
      `postgres ${stats.neonPerRequest.toFixed(2)}/req  redis ${stats.upstashPerRequest.toFixed(2)}/req  errors ${errors}/${total}  ` +
      `| injected p50 ${injectedP50Ms.toFixed(1)} ms, added ${stats.addedMs.toFixed(1)} ms, floor ${floorMs.toFixed(1)} ms, ` +
      `ratio ${formatRatio(stats.ratio)}, waited ${stats.waitedP50Ms.toFixed(1)} ms (${formatRatio(stats.serialShare)} of its delays)`,
  );
  return stats;
}

const formatRatio = (ratio: number | null) => (ratio === null ? "—" : ratio.toFixed(2));

/** The per-route latency table (Markdown) that closes a bench run. */
export function latencyTable(latency: InjectedLatency, results: Stats[]): string {
  const rows = results.map((s) =>
    [
      s.name,
      s.neonPerRequest.toFixed(2),
      s.upstashPerRequest.toFixed(2),
      s.floorMs.toFixed(1),
      s.p50Ms.toFixed(1),
      s.addedMs.toFixed(1),
      formatRatio(s.ratio),
      s.waitedP50Ms.toFixed(1),
      formatRatio(s.serialShare),
    ],
  );
  return [
    `latency injected: ${latency.pgMs} ms per Postgres and ${latency.redisMs} ms per Redis round trip (floor: all calls one after another)`,
    "| route | PG RTs | Redis RTs | floor ms | p50 ms | added p50 ms | ratio | waited p50 ms | waited / own delays |",
    "| --- | --: | --: | --: | --: | --: | --: | --: | --: |",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}
