import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair } from "jose";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { startLocalStack } from "../../local/stack";
import { createScratchDatabase } from "../../local/scratch-db";
import { migrateUp, pgClientExec } from "../../scripts/lib/migrations";
import { startHttpSource, startMysqlSource, startReadOnlySource } from "./connector-sources";
import { startJwksServer } from "./jwks-server";
import { startMcpServer } from "./mcp-server";
import { startOpenAiServer } from "./openai-server";
import { startWebhookReceiver } from "./webhook-receiver";

declare module "vitest" {
  export interface ProvidedContext {
    bindings: Record<string, string>;
    stackUrl: string;
    backends: { sql: string; redis: string };
  }
}

/**
 * Starts the local Neon and Upstash endpoints once per run: the real servers on 127.0.0.1 when
 * reachable (fresh database per run), else the embedded backends (TEST_BACKENDS=embedded forces
 * them). Generates the run's signing keys and serves a JWKS for the key-rotation tests, and starts
 * the local OpenAI-compatible server the factory's LLM calls go to (FACTORY_LLM_*; a short timeout
 * so its slow answers time out quickly).
 */
export default async function setup(project: TestProject) {
  const embedded = process.env.TEST_BACKENDS === "embedded";
  const scratch = embedded ? null : await createScratchDatabase(process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
  const stack = await startLocalStack({
    databaseUrl: scratch?.adminUrl,
    redisUrl: embedded ? undefined : (process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379"),
    port: 0,
    migrate: true,
    log: (line) => console.log(`[local-stack] ${line}`),
  });
  const fuzz = scratch ? await isolatedDatabase(process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres") : null;
  const rsa = await generateKeyPair("RS256", { extractable: true });
  const jwks = await startJwksServer();
  // Factory data connectors' sources: Postgres through a read-only role, MariaDB through a SELECT-only user, REST and GraphQL over HTTP.
  const source = scratch ? await startReadOnlySource(scratch.adminUrl) : null;
  const mysqlSource = embedded ? null : await startMysqlSource(process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test");
  const sourceToken = `src-${crypto.randomUUID()}`;
  const httpSource = await startHttpSource(sourceToken);
  const llm = await startOpenAiServer();
  // The MCP servers' tests talk to a real MCP server (the SDK's McpServer) over every transport.
  const mcp = await startMcpServer();
  // One Standard Webhooks receiver that verifies signatures: alarm notifications (with the
  // tenant's secret, this one in tests) and workflow ACTION nodes (FACTORY_ACTION_SIGNING_SECRET).
  const webhooks = await startWebhookReceiver();

  project.provide("stackUrl", stack.url);
  project.provide("backends", stack.backends);
  project.provide("bindings", {
    DB_URL: stack.appDatabaseUrl,
    NEON_FETCH_ENDPOINT: stack.neonFetchEndpoint,
    REDIS_URL: stack.upstashUrl,
    UPSTASH_REDIS_REST_TOKEN: stack.upstashToken,
    API_JWT_PUBLIC_KEY: await exportSPKI(rsa.publicKey),
    API_JWT_JWKS_COOLDOWN_SEC: "0",
    RATE_LIMIT_MAX: "1000",
    TEST_RSA_PRIVATE_KEY: await exportPKCS8(rsa.privateKey),
    TEST_RSA_PUBLIC_JWK: JSON.stringify(await exportJWK(rsa.publicKey)),
    TEST_JWKS_URL: jwks.url,
    TEST_STACK_URL: stack.url,
    FACTORY_CONNECTOR_KEYS: `k2026:${randomKey()},k2025:${randomKey()}`,
    TEST_SOURCE_HTTP_URL: httpSource.url,
    TEST_SOURCE_TOKEN: sourceToken,
    ...(mysqlSource
      ? {
          TEST_SOURCE_MYSQL_HOST: mysqlSource.host,
          TEST_SOURCE_MYSQL_PORT: mysqlSource.port,
          TEST_SOURCE_MYSQL_DATABASE: mysqlSource.database,
          TEST_SOURCE_MYSQL_USER: mysqlSource.user,
          TEST_SOURCE_MYSQL_PASSWORD: mysqlSource.password,
          TEST_SOURCE_MYSQL_ADMIN_USER: mysqlSource.admin.user,
          TEST_SOURCE_MYSQL_ADMIN_PASSWORD: mysqlSource.admin.password,
        }
      : {}),
    ...(source ? { TEST_SOURCE_PG_HOST: source.host, TEST_SOURCE_PG_PORT: source.port, TEST_SOURCE_PG_DATABASE: source.database, TEST_SOURCE_PG_USER: source.user } : {}),
    FACTORY_LLM_BASE_URL: llm.url,
    FACTORY_LLM_API_KEY: llm.apiKey,
    FACTORY_LLM_MODEL: "gpt-4o",
    FACTORY_LLM_FALLBACK_MODEL: "gpt-4o-mini",
    FACTORY_LLM_TIMEOUT_MS: "1500",
    TEST_MCP_URL: mcp.url,
    TEST_MCP_TOKEN: mcp.token,
    TEST_WEBHOOK_URL: webhooks.url,
    TEST_WEBHOOK_SECRET: webhooks.secret,
    FACTORY_ACTION_SIGNING_SECRET: webhooks.secret,
    FACTORY_TRAINING_WEBHOOK_SECRET: `whsec_${randomKey()}`,
    ...(fuzz ? { TEST_FUZZ_DB_URL: fuzz.appUrl, TEST_FUZZ_ADMIN_DB_URL: fuzz.adminUrl } : {}),
  });
  console.log(`[local-stack] backends: postgres=${stack.backends.sql} redis=${stack.backends.redis}`);

  return async () => {
    await jwks.stop();
    await httpSource.stop();
    await llm.stop();
    await mcp.stop();
    await webhooks.stop();
    await stack.stop();
    await scratch?.drop();
    await source?.drop(process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
    await mysqlSource?.drop();
    await fuzz?.drop();
  };
}

/** 32 random bytes in base64: an AES-256 key for the run. */
const randomKey = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");

/**
 * A second migrated database on the same server, for the fuzz suite: it checks that refused
 * requests write nothing by counting rows, which only works where no other test file writes.
 * The local Neon endpoint picks the database from the Worker's connection string, as Neon does.
 */
async function isolatedDatabase(serverUrl: string) {
  const db = await createScratchDatabase(serverUrl, "edge_fuzz");
  if (!db) return null;
  const client = new pg.Client({ connectionString: db.adminUrl });
  await client.connect();
  try {
    await migrateUp(pgClientExec(client));
  } finally {
    await client.end();
  }
  const appUrl = new URL(db.adminUrl);
  appUrl.username = "app_api";
  appUrl.password = "";
  return { ...db, appUrl: appUrl.toString() };
}
