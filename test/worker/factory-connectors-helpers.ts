import { afterAll, beforeAll, expect } from "vitest";
import { call, testEnv, type CallOptions, type CallResult } from "./helpers";

/**
 * Shared by the factory connector tests: the sources started by test/setup/connector-sources.ts,
 * and the secret search: every response, error body and console line of a file is kept and
 * searched for every credential the file used.
 */

export const BASE = "/api/v1/factory/connectors";
export const httpSource = testEnv.TEST_SOURCE_HTTP_URL!;
export const sourceToken = testEnv.TEST_SOURCE_TOKEN!;

/** The read-only role's connection, as a postgres connector's config and credentials. */
export const pgSource = (config: Record<string, unknown> = {}) => ({
  config: { host: testEnv.TEST_SOURCE_PG_HOST, port: Number(testEnv.TEST_SOURCE_PG_PORT), database: testEnv.TEST_SOURCE_PG_DATABASE, ssl_enabled: false, ...config },
  credentials: { username: testEnv.TEST_SOURCE_PG_USER!, password: secret("pg-password") },
});

/**
 * The MariaDB user that may only SELECT edge_mes.production_rows, as a mysql connector's config
 * and credentials (its password is the run's, so it is watched). `admin` gives root instead: a
 * user that could write, to show the read-only session refusing what privileges would allow.
 */
export function mysqlSource(config: Record<string, unknown> = {}, as: "reader" | "admin" = "reader") {
  if (!testEnv.TEST_SOURCE_MYSQL_HOST) throw new Error("no MySQL source: test/setup/global.ts found no server at TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306/test)");
  const credentials =
    as === "admin"
      ? { username: testEnv.TEST_SOURCE_MYSQL_ADMIN_USER!, password: testEnv.TEST_SOURCE_MYSQL_ADMIN_PASSWORD ?? "" }
      : { username: testEnv.TEST_SOURCE_MYSQL_USER!, password: watch(testEnv.TEST_SOURCE_MYSQL_PASSWORD!) };
  return {
    config: { host: testEnv.TEST_SOURCE_MYSQL_HOST, port: Number(testEnv.TEST_SOURCE_MYSQL_PORT), database: testEnv.TEST_SOURCE_MYSQL_DATABASE, ssl_enabled: false, ...config },
    credentials,
  };
}

const secrets = new Set<string>();
const seen: string[] = [];

/** A credential value this file uses: the search looks for it everywhere. */
export function secret(label: string): string {
  const value = `${label}-${crypto.randomUUID()}`;
  secrets.add(value);
  return value;
}
/** A credential the file did not make (the source's token): searched for too. */
export const watch = (value: string) => (secrets.add(value), value);

/** call(), keeping what came back for the search. */
export async function callKept<T = any>(method: string, path: string, options: CallOptions = {}): Promise<CallResult<T>> {
  const res = await call<T>(method, path, options);
  seen.push(typeof res.body === "string" ? res.body : JSON.stringify(res.body), JSON.stringify([...res.headers]));
  return res;
}

/** Texts of `texts` holding any watched secret. */
export const leaksIn = (texts: readonly string[]) => texts.filter((t) => [...secrets].some((s) => t.includes(s)));

/** Keeps every console line of the file (Worker logs included) and searches all of it once the file is done. */
export function searchForSecrets() {
  const originals = { log: console.log, info: console.info, warn: console.warn, error: console.error, debug: console.debug };
  beforeAll(() => {
    for (const level of Object.keys(originals) as (keyof typeof originals)[]) {
      console[level] = (...args: unknown[]) => {
        seen.push(args.map((a) => (typeof a === "string" ? a : a instanceof Error ? `${a.message} ${a.stack}` : JSON.stringify(a))).join(" "));
        originals[level](...args);
      };
    }
  });
  afterAll(() => {
    Object.assign(console, originals);
    expect(secrets.size, "the file used credentials").toBeGreaterThan(0);
    expect(seen.length, "the file kept responses").toBeGreaterThan(0);
    // The search finds what it looks for.
    expect(leaksIn([`x${[...secrets][0]}x`])).toHaveLength(1);
    expect(leaksIn(seen)).toEqual([]);
  });
}

export const restConfig = (config: Record<string, unknown> = {}) => ({ base_url: `${httpSource}/api/v1`, rows_path: "data.items", ...config });
export const graphqlConfig = (config: Record<string, unknown> = {}) => ({ endpoint: `${httpSource}/graphql`, ...config });

/** What the HTTP source has seen. */
export async function sourceStats(): Promise<{ mutations: number; lastUrl: string; health: Record<string, number> }> {
  return (await fetch(`${httpSource}/__stats`)).json();
}
