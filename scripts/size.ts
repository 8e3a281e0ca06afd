import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";

/** Bundles the Worker as `wrangler deploy` would (offline, nothing uploaded) and prints its size. */
const LIMIT_KIB = 300;
execFileSync("wrangler", ["deploy", "--dry-run", "--outdir", "dist"], { stdio: ["ignore", "ignore", "inherit"] });
const files = readdirSync("dist").filter((f) => f.endsWith(".js"));
const code = Buffer.concat(files.map((f) => readFileSync(`dist/${f}`)));
const gzipKiB = gzipSync(code, { level: 9 }).length / 1024;
console.log(`worker bundle: ${(code.length / 1024).toFixed(1)} KiB raw, ${gzipKiB.toFixed(1)} KiB gzip (limit ${LIMIT_KIB} KiB gzip)`);
if (gzipKiB > LIMIT_KIB) process.exit(1);
