import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { startLocalStack } from "../local/stack";
import { cronsEnabled, readCrons, startCronRunner, triggerScheduled, type DueRun } from "./lib/crons";
import { devKeyPair, LOCAL_DIR, signDevToken } from "./lib/dev-keys";

/**
 * `npm run dev`: the whole API on this machine with nothing installed. Starts the local Neon and
 * Upstash endpoints (DATABASE_URL / REDIS_URL servers when reachable, else embedded backends),
 * applies migrations, writes .dev.vars, runs `wrangler dev`, and fires wrangler.toml's crons on
 * their schedule (`--no-crons` or DEV_CRONS=off to not). Ctrl-C stops all of it.
 */
const API_PORT = Number(process.env.PORT ?? 8787);
const STACK_PORT = Number(process.env.LOCAL_STACK_PORT ?? 8788);
const started = Date.now();
const BASE_URL = `http://127.0.0.1:${API_PORT}`;
const crons = cronsEnabled(process.argv.slice(2), process.env) ? await readCrons() : [];
let cronRunner: { stop(): void } | undefined;

const stack = await startLocalStack({
  databaseUrl: process.env.DATABASE_URL,
  redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  pgliteDir: `${LOCAL_DIR}/pglite`,
  port: STACK_PORT,
  migrate: true,
  log: (line) => console.log(`[local-stack] ${line}`),
});

const { publicPem } = await devKeyPair();
writeDevVars({
  API_JWT_PUBLIC_KEY: publicPem,
  DB_URL: stack.appDatabaseUrl,
  NEON_FETCH_ENDPOINT: stack.neonFetchEndpoint,
  REDIS_URL: stack.upstashUrl,
  UPSTASH_REDIS_REST_TOKEN: stack.upstashToken,
});

// --test-scheduled: /__scheduled runs a cron's jobs; the cron runner below calls it (so can you, with curl).
const wrangler = spawn("wrangler", ["dev", "--ip", "127.0.0.1", "--port", String(API_PORT), "--show-interactive-dev-session=false", "--test-scheduled"], {
  stdio: ["ignore", "pipe", "inherit"],
  // Offline-friendly: no metrics, and no fetch of the real Request.cf object (a placeholder suffices).
  env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
});
let announced = false;
wrangler.stdout.on("data", async (chunk: Buffer) => {
  process.stdout.write(chunk);
  if (!announced && chunk.toString().includes("Ready on")) {
    announced = true;
    await announce();
    if (crons.length) cronRunner = startCronRunner(crons, runCron);
  }
});

async function runCron(run: DueRun) {
  const t0 = Date.now();
  const outcome = await triggerScheduled(BASE_URL, run.cron).catch((err: unknown) => `unreachable (${String(err)})`);
  const skipped = run.skipped ? `, ${run.skipped} missed slot(s) folded in` : "";
  console.log(`[cron] "${run.cron}" for ${run.scheduledTime.toISOString()}: ${outcome} in ${Date.now() - t0} ms${skipped}`);
}

async function announce() {
  const token = await signDevToken({ sub: "00000000-0000-4000-8000-000000000001", roles: ["admin"], ttl: "12h" });
  console.log(`
API        ${BASE_URL}   (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)
Docs       ${BASE_URL}/docs
Postgres   ${stack.backends.sql}   via Neon HTTP endpoint ${stack.neonFetchEndpoint}
Redis      ${stack.backends.redis}   via Upstash REST endpoint ${stack.upstashUrl}
Token      npm run token -- --sub <uuid> [--tenant t] [--role admin]
Crons      ${crons.length ? crons.map((c) => `"${c}"`).join(", ") + " (from wrangler.toml; off: npm run dev -- --no-crons)" : "off"}

curl -H "Authorization: Bearer ${token}" ${BASE_URL}/api/v1/exam/profile
`);
}

function writeDevVars(values: Record<string, string>) {
  // .dev.vars is git-ignored; keep any variable a developer added by hand.
  const kept = existsSync(".dev.vars")
    ? readFileSync(".dev.vars", "utf8").split("\n").filter((l) => /^[A-Z_]+=/.test(l) && !(l.split("=")[0]! in values))
    : [];
  const lines = Object.entries(values).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  writeFileSync(".dev.vars", [...kept, ...lines].join("\n") + "\n", { mode: 0o600 });
}

let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  cronRunner?.stop();
  wrangler.kill("SIGINT");
  await stack.stop();
  process.exit(code);
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
wrangler.on("exit", (code) => void stop(code ?? 0));
