import { servicePrincipal } from "../platform/auth";
import type { Bindings } from "../platform/context";
import { backgroundDatabase, runAs } from "../platform/db";
import { ApiError } from "../platform/problem";
import { pingConnector } from "./connector-query";
import { ConnectorError } from "./connector-result";
import { claimDueConnectors, writeHealthResults, type HealthResult } from "./connector-sql";

/** The health job's service identity (role `service`, which tokens can never carry). */
const HEALTH_PRINCIPAL = servicePrincipal("a9e47000-0000-4000-8000-00000000f311");

/** A connector is checked again this long after its last check. */
export const HEALTH_INTERVAL_SECONDS = 300;
/** Connectors one run checks at most; the rest wait for the next minutes. */
const BATCH = 50;
/** Probes at once: a Worker invocation holds at most six open connections. */
const PARALLEL = 6;
/** Types a Worker can check (the others are refused at registration). */
const CHECKED_TYPES = ["postgres", "mysql", "rest_api", "graphql"] as const;

/** One probe's outcome as stored: `ok (12 ms)` or the reason, never a credential (ConnectorError messages are redacted). */
async function probe(connector: Parameters<typeof pingConnector>[0], keys: Parameters<typeof pingConnector>[1]): Promise<{ status: "active" | "error"; message: string }> {
  const startedAt = Date.now();
  try {
    await pingConnector(connector, keys);
    return { status: "active", message: `ok (${Date.now() - startedAt} ms)` };
  } catch (err) {
    if (err instanceof ConnectorError || err instanceof ApiError) return { status: "error", message: `${err instanceof ApiError ? err.code : err.kind}: ${err instanceof ApiError ? err.detail : err.message}` };
    return { status: "error", message: "check failed" };
  }
}

/**
 * Every minute: connectors due for a check (HEALTH_INTERVAL_SECONDS) are claimed in one
 * statement, probed (select 1, GET health_path, `{ __typename }`) six at a time, and their
 * status, last_health_check_at and last_health_status written in one more. Overlapping runs
 * claim disjoint rows; a result is written only to a row still as claimed.
 */
export async function checkConnectorHealth(env: Bindings): Promise<Record<string, unknown>> {
  const { db, config } = backgroundDatabase(env, "job-factory-connector-health");
  const [claimed] = await runAs(db, HEALTH_PRINCIPAL, [claimDueConnectors(db, CHECKED_TYPES, BATCH, HEALTH_INTERVAL_SECONDS)] as const);
  const due = claimed.rows;
  const results: HealthResult[] = [];
  for (let i = 0; i < due.length; i += PARALLEL) {
    const slice = due.slice(i, i + PARALLEL);
    const outcomes = await Promise.all(
      slice.map((row) => probe({ id: row.id, tenantId: row.tenant_id, type: row.type, config: row.config, sealedCredentials: row.sealed }, config.FACTORY_CONNECTOR_KEYS)),
    );
    slice.forEach((row, j) => results.push({ id: row.id, claimed: row.claimed, ...outcomes[j]! }));
  }
  if (!results.length) return { checked: 0 };
  const [written] = await runAs(db, HEALTH_PRINCIPAL, [writeHealthResults(db, results)] as const);
  return {
    checked: results.length,
    active: results.filter((r) => r.status === "active").length,
    error: results.filter((r) => r.status === "error").length,
    written: written.rows.length,
  };
}
