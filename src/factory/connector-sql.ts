import { z } from "@hono/zod-openapi";
import { eq, sql } from "drizzle-orm";
import type { Database } from "../platform/db";
import { JsonObject } from "../platform/input";
import { columnsOf, rowSchema } from "../platform/table-schema";
import type { StoredConnector } from "./connector-query";
import { dataConnectors } from "./schema";

/**
 * Statements on factory.data_connectors. credentials_encrypted holds the sealed text
 * (`v1.<kid>.<iv>.<ct>`, src/platform/sealed-secrets.ts) as its UTF-8 bytes; responses carry
 * only whether there are credentials and the key id that sealed them, never the ciphertext.
 */

export const Connector = rowSchema(dataConnectors, { config: JsonObject })
  .omit({ credentialsEncrypted: true })
  .extend({
    hasCredentials: z.boolean(),
    credentialsKeyId: z.string().nullable().openapi({ description: "The key that sealed the credentials (FACTORY_CONNECTOR_KEYS); a retired kid means they should be set again" }),
  })
  .openapi("FactoryConnector");
export type Connector = z.infer<typeof Connector>;

const { credentialsEncrypted: _sealed, ...visible } = columnsOf(dataConnectors);

/** A connector as responses carry it. */
export const connectorColumns = {
  ...visible,
  hasCredentials: sql<boolean>`(${dataConnectors.credentialsEncrypted} is not null)`,
  credentialsKeyId: sql<string | null>`nullif(split_part(convert_from(${dataConnectors.credentialsEncrypted}, 'UTF8'), '.', 2), '')`,
};

/** The bytes stored for a sealed value. */
export const sealedBytes = (sealed: string | null) => (sealed === null ? null : sql`convert_to(${sealed}::text, 'UTF8')`);

/** A connector with its sealed credentials, to run a query on it (in the caller's batch). */
export const connectorForQuery = (db: Database, id: string) =>
  db
    .select({
      id: dataConnectors.id,
      tenantId: dataConnectors.tenantId,
      type: dataConnectors.type,
      config: dataConnectors.config,
      sealedCredentials: sql<string | null>`convert_from(${dataConnectors.credentialsEncrypted}, 'UTF8')`,
    })
    .from(dataConnectors)
    .where(eq(dataConnectors.id, id));

/** A row as a response carries it, from what an audited() statement returned. */
export function connectorOf(row: typeof dataConnectors.$inferSelect, sealed: string | null): Connector {
  const { credentialsEncrypted: _bytes, ...rest } = row;
  return { ...rest, config: row.config, hasCredentials: sealed !== null, credentialsKeyId: sealed?.split(".")[1] ?? null } as unknown as Connector;
}

// Health checks (connector-health.ts), as the service role.

/**
 * Claims up to `limit` connectors due for a health check (never checked, or not within
 * `intervalSeconds`): last_health_check_at moves to now, so an overlapping run skips them, and
 * SKIP LOCKED passes rows another run is claiming. Returns what the probe needs and the
 * updated_at that the result write must still find.
 */
export const claimDueConnectors = (db: Database, types: readonly string[], limit: number, intervalSeconds: number) =>
  db.execute<{ id: string; tenant_id: string; type: StoredConnector["type"]; config: Record<string, unknown>; sealed: string | null; claimed: string }>(sql`
    update factory.data_connectors c set last_health_check_at = now()
    where c.id in (
      select d.id from factory.data_connectors d
      where d.type in (${sql.join(types.map((t) => sql`${t}`), sql`, `)})
        and (d.last_health_check_at is null or d.last_health_check_at < now() - make_interval(secs => ${intervalSeconds}))
      order by d.last_health_check_at nulls first, d.id
      limit ${limit}
      for update skip locked)
    returning c.id, c.tenant_id, c.type, c.config, convert_from(c.credentials_encrypted, 'UTF8') as sealed, c.updated_at::text as claimed`);

export interface HealthResult {
  id: string;
  status: "active" | "error";
  message: string;
  claimed: string;
}

/**
 * Writes the results of one run, each only when the row is as claimed (a PATCH meanwhile reset
 * it for a new check): one statement.
 */
export const writeHealthResults = (db: Database, results: HealthResult[]) =>
  db.execute<{ id: string; status: string }>(sql`
    update factory.data_connectors c
    set status = r.status, last_health_status = r.message, last_health_check_at = now()
    from jsonb_to_recordset(${JSON.stringify(results)}::jsonb) as r(id uuid, status text, message text, claimed timestamptz)
    where c.id = r.id and c.updated_at = r.claimed
    returning c.id, c.status`);
