import { sql, type SQL } from "drizzle-orm";
import { SECRET_PATHS } from "./audit";
import { tenants } from "./schema";

/**
 * A tenant's settings hold secrets (SECRET_PATHS, each under `settings`: its own LLM API key, its webhook signing
 * secret). Answers never show them: a secret that is set reads as KEPT_SECRET. Settings are
 * replaced whole on PATCH, so a client that sends back what it read sends KEPT_SECRET, which keeps
 * the stored secret; any other value replaces it, and leaving the member out removes it.
 */
export const KEPT_SECRET = "(kept secret)";

type Settings = Record<string, unknown>;

function hideAt(node: unknown, path: readonly string[]): unknown {
  if (node === null || typeof node !== "object" || Array.isArray(node)) return node;
  const [head, ...rest] = path;
  if (!head || !Object.hasOwn(node, head)) return node;
  const value = (node as Settings)[head];
  return { ...node, [head]: rest.length ? hideAt(value, rest) : value === null || value === undefined ? value : KEPT_SECRET };
}

/** A tenant row as answered: its settings' secrets shown as KEPT_SECRET. */
export function shownTenant<T extends { settings: unknown }>(row: T): T {
  return SECRET_PATHS.reduce<unknown>((shown, path) => hideAt(shown, path), row) as T;
}

/**
 * The SQL value of new settings for an UPDATE of factory.tenants: `settings` as sent, where each
 * secret sent as KEPT_SECRET takes the stored value (or goes, when none is stored).
 */
export function settingsKeepingSecrets(settings: Settings): SQL {
  return SECRET_PATHS.reduce<SQL>((value, [, ...path]) => {
    const at = `{${path.join(",")}}`;
    return sql`(case when ${value} #>> ${at}::text[] is distinct from ${KEPT_SECRET} then ${value}
                     when ${tenants.settings} #> ${at}::text[] is null then ${value} #- ${at}::text[]
                     else jsonb_set(${value}, ${at}::text[], ${tenants.settings} #> ${at}::text[]) end)`;
  }, sql`${JSON.stringify(settings)}::jsonb`);
}
