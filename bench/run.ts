import { readdirSync } from "node:fs";
import { startBench, type BenchContext } from "./harness";

/**
 * `npm run bench [-- name…]`: runs every bench/*.bench.ts (or the named ones) against the Worker
 * running locally; each module's default export receives the BenchContext.
 */
const only = process.argv.slice(2);
const modules = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => !only.length || only.some((name) => f.startsWith(name)))
  .sort();

const bench = await startBench();
try {
  for (const file of modules) {
    console.log(`\n# ${file}`);
    const mod = (await import(`./${file}`)) as { default: (ctx: BenchContext) => Promise<void> };
    await mod.default(bench);
  }
} finally {
  await bench.stop();
}
