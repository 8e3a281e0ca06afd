import { readdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { latencyTable, startBench, type BenchContext } from "./harness";

/**
 * `npm run bench [-- --pg-latency MS --redis-latency MS] [name…]`: runs every bench/*.bench.ts (or
 * the named ones) against the Worker running locally; each module's default export receives the
 * BenchContext. Every other request gets the injected latency in front of each of its Postgres
 * and Redis calls; the closing table shows what that added per route.
 */
const { values, positionals: only } = parseArgs({
  allowPositionals: true,
  options: {
    "pg-latency": { type: "string", default: "0" },
    "redis-latency": { type: "string", default: "0" },
  },
});
const milliseconds = (flag: "pg-latency" | "redis-latency") => {
  const ms = Number(values[flag]);
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`--${flag} takes milliseconds (a number ≥ 0), not ${values[flag]}`);
  return ms;
};
const latency = { pgMs: milliseconds("pg-latency"), redisMs: milliseconds("redis-latency") };

const modules = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => !only.length || only.some((name) => f.startsWith(name)))
  .sort();

const bench = await startBench(latency);
try {
  for (const file of modules) {
    console.log(`\n# ${file}`);
    const mod = (await import(`./${file}`)) as { default: (ctx: BenchContext) => Promise<void> };
    await mod.default(bench);
  }
  console.log(`\n${latencyTable(latency, bench.results)}`);
} finally {
  await bench.stop();
}
