import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import { createScratchDatabase } from "../../local/scratch-db";
import { startLocalStack, type LocalStack } from "../../local/stack";

/**
 * What both validation initializers need: a fresh migrated database behind the local Neon and
 * Upstash endpoints (the real Postgres and Redis of this machine), the Worker's bindings for it,
 * and tokens for new users. The suite reuses thread ids ("thread-1") across checkpointer
 * instances and expects each to start empty: `clear()` empties the checkpoint tables between
 * them (the shared-storage option the suite's README gives), as the database owner.
 */
export interface ValidationStack {
  env: Record<string, string>;
  /** The scratch database, as its (superuser) creator. */
  adminUrl: string;
  newToken(sub: string): Promise<string>;
  clear(): Promise<void>;
  stop(): Promise<void>;
}

/** wrangler.toml's [vars]: the Worker's non-secret configuration. */
function wranglerVars(): Record<string, string> {
  const toml = readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), "../../wrangler.toml"), "utf8");
  const section = toml.split(/^\[vars\]$/m)[1]!.split(/^\[/m)[0]!;
  return Object.fromEntries([...section.matchAll(/^([A-Z_]+)\s*=\s*"([^"]*)"$/gm)].map((m) => [m[1]!, m[2]!]));
}

export async function startValidationStack(): Promise<ValidationStack> {
  const server = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const scratch = await createScratchDatabase(server, "edge_ckpt");
  if (!scratch) throw new Error(`no Postgres at ${server}: the checkpoint validation needs the real server`);
  let stack: LocalStack | undefined;
  try {
    stack = await startLocalStack({ databaseUrl: scratch.adminUrl, redisUrl: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379", port: 0, migrate: true });
  } catch (err) {
    await scratch.drop();
    throw err;
  }
  const rsa = await generateKeyPair("RS256", { extractable: true });
  const vars = wranglerVars();
  const env = {
    ...vars,
    DB_URL: stack.appDatabaseUrl,
    NEON_FETCH_ENDPOINT: stack.neonFetchEndpoint,
    REDIS_URL: stack.upstashUrl,
    UPSTASH_REDIS_REST_TOKEN: stack.upstashToken,
    API_JWT_PUBLIC_KEY: await exportSPKI(rsa.publicKey),
    RATE_LIMIT_MAX: "100000",
    AGENT_USER_REQUESTS_PER_MINUTE: "100000",
  };
  return {
    env,
    adminUrl: scratch.adminUrl,
    newToken: (sub) =>
      new SignJWT({ sub, tenant_id: "validation", iss: vars.API_JWT_ISSUER, aud: vars.API_JWT_AUDIENCE })
        .setProtectedHeader({ alg: "RS256" })
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(rsa.privateKey),
    clear: async () => {
      const client = new pg.Client({ connectionString: scratch.adminUrl });
      await client.connect();
      try {
        await client.query("truncate agent.checkpoint_writes, agent.checkpoint_blobs, agent.checkpoints, agent.checkpoint_threads");
      } finally {
        await client.end();
      }
    },
    stop: async () => {
      await stack!.stop();
      await scratch.drop();
    },
  };
}
