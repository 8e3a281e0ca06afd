import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";

/**
 * Bundles each Worker as `wrangler deploy` would (offline, nothing uploaded): the all-in-one and
 * one per system ([env.<system>] in wrangler.toml). Prints each bundle's raw and gzip size and its
 * startup CPU as `wrangler check startup` profiles it (active time, the median of --runs runs:
 * the figure is noisy on a busy machine). Fails when a bundle exceeds its gzip budget.
 */
/**
 * Gzip budgets. A system's own Worker: 300 KiB, as the one Worker had when it served three systems.
 * The factory's 900 KiB. Its Rhai interpreter, LLM client and postgres.js took it to 327 KiB;
 * mysql2 for MySQL/MariaDB connectors adds about 377 KiB, most of it iconv-lite's character-set
 * tables, which a Korean plant's euc-kr database needs, so they stay; workflows, the MCP SDK's
 * client, the learning loop, chat and monitoring about 100 KiB more (802 KiB in all). mysql2 loads
 * only when a mysql connector is used, and startup CPU measured 25.5 ms (15.7 ms before mysql2;
 * the figure is noisy on a busy machine). The all-in-one carries all five and is the convenience
 * deployment: 1000 KiB (879 KiB then). None of these is Cloudflare's limit (3 MiB free, 10 MiB
 * paid, gzip); they keep growth visible, and startup no longer grows with size since systems load
 * on first use.
 */
const SYSTEM_LIMIT_KIB: Record<string, number> = { factory: 900 };
const DEFAULT_SYSTEM_LIMIT_KIB = 300;
const ALL_IN_ONE_LIMIT_KIB = 1000;
const { values } = parseArgs({ options: { runs: { type: "string", default: "3" } } });
const runs = Number(values.runs);

const systems = [...readFileSync("wrangler.toml", "utf8").matchAll(/^\[env\.([a-z0-9_-]+)\]$/gm)].map((m) => m[1]!);
const targets: { label: string; env?: string }[] = [{ label: "all-in-one" }, ...systems.map((env) => ({ label: env, env }))];

const wrangler = (args: string[]) => execFileSync("wrangler", args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

let overBudget = false;
console.log(`| worker | raw KiB | gzip KiB | startup CPU ms (median of ${runs}) |`);
console.log("| --- | --- | --- | --- |");
for (const { label, env } of targets) {
  const outdir = join("dist", label);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const envArgs = ["--env", env ?? ""];
  wrangler(["deploy", "--dry-run", "--outdir", outdir, ...envArgs]);
  const code = Buffer.concat(readdirSync(outdir).filter((f) => f.endsWith(".js")).map((f) => readFileSync(join(outdir, f))));
  const gzipKiB = gzipSync(code, { level: 9 }).length / 1024;
  const startup = Array.from({ length: runs }, () => {
    const out = wrangler(["check", "startup", "--outfile", join(outdir, "startup.cpuprofile"), `--args=--env=${env ?? ""}`]);
    const active = /Active: ([\d.]+) ms/.exec(out);
    if (!active) throw new Error(`wrangler check startup printed no active time for ${label}:\n${out}`);
    return Number(active[1]);
  });
  console.log(`| ${label} | ${(code.length / 1024).toFixed(1)} | ${gzipKiB.toFixed(1)} | ${median(startup).toFixed(1)} |`);
  const limit = env ? (SYSTEM_LIMIT_KIB[env] ?? DEFAULT_SYSTEM_LIMIT_KIB) : ALL_IN_ONE_LIMIT_KIB;
  if (gzipKiB > limit) {
    console.error(`${label}: ${gzipKiB.toFixed(1)} KiB gzip exceeds its ${limit} KiB budget`);
    overBudget = true;
  }
}
if (overBudget) process.exit(1);
