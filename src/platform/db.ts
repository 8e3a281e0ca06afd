import { neon, neonConfig } from "@neondatabase/serverless";
import { sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { drizzle, type NeonHttpDatabase } from "drizzle-orm/neon-http";
import type { Principal } from "./auth";
import { loadConfig, type Config } from "./config";
import type { Bindings } from "./context";

export type Database = NeonHttpDatabase;

/** Per-client extras the fetch function below reads; neonConfig itself is global to the isolate. */
interface NeonFetchExtras {
  requestId?: string;
  /** Unset in production (Neon's own endpoint); locally the project's Neon-protocol endpoint. */
  endpoint?: string;
}

// The driver spreads `fetchOptions` over its own request init (a `headers` there would replace the
// Neon-* headers), so the extras ride along as options this function turns into URL and header.
neonConfig.fetchFunction = (url: string, { requestId, endpoint, ...init }: RequestInit & NeonFetchExtras) =>
  fetch(endpoint ?? url, requestId ? { ...init, headers: { ...(init.headers as Record<string, string>), "X-Request-Id": requestId } } : init);

export function createDatabase(config: Config, requestId: string): Database {
  const extras: NeonFetchExtras = { requestId, endpoint: config.NEON_FETCH_ENDPOINT };
  return drizzle({ client: neon(config.DB_URL, { fetchOptions: extras }) });
}

/**
 * The statement that makes the caller's identity visible to row-level security, for this
 * transaction only. app.roles is a JSON array of the role names ('["learner","admin"]'), the one
 * form app.has_role() (0008) accepts: it cannot be split or trimmed into other names.
 */
export function identityStatement(db: Database, principal: Principal | null) {
  const userId = principal?.userId ?? "";
  const tenantId = principal?.tenantId ?? "";
  const roles = JSON.stringify(principal?.roles ?? []);
  return db.execute(
    sql`select set_config('app.user_id', ${userId}, true), set_config('app.tenant_id', ${tenantId}, true), set_config('app.roles', ${roles}, true)`,
  );
}

type Results<T extends readonly BatchItem<"pg">[]> = { [K in keyof T]: Awaited<T[K]> };

/**
 * Runs the statements as the caller in one HTTP round trip and one transaction (neon-http has no
 * interactive transactions): identity first, then the statements; returns the statements' results.
 */
export async function runAs<T extends readonly BatchItem<"pg">[]>(
  db: Database,
  principal: Principal | null,
  statements: T,
): Promise<Results<T>> {
  const [, ...results] = await db.batch([identityStatement(db, principal), ...statements] as unknown as [BatchItem<"pg">, ...BatchItem<"pg">[]]);
  return results as unknown as Results<T>;
}


/**
 * The database of work that no request carries (a job, a consumer, the relay): configuration from
 * the bindings and a client whose request id names the work, so logs and round-trip counts say
 * what ran.
 */
export function backgroundDatabase(env: Bindings, name: string, requestId = `${name}-${crypto.randomUUID()}`): { config: Config; db: Database; requestId: string } {
  const config = loadConfig(env);
  return { config, db: createDatabase(config, requestId), requestId };
}
