import { servicePrincipal } from "../platform/auth";
import type { Bindings } from "../platform/context";
import { backgroundDatabase, runAs } from "../platform/db";
import { purgeWebhookDeliveries } from "./workflow-trigger-sql";

/** The job's service identity (role `service`, which tokens can never carry). */
const PURGE_PRINCIPAL = servicePrincipal("a9e47000-0000-4000-8000-00000000f318");

/**
 * Daily: webhook deliveries older than an hour are forgotten (one statement). A delivery that old
 * is refused by its timestamp, and its instance (keyed by the webhook-id) still refuses a replay.
 */
export async function purgeWorkflowWebhookDeliveries(env: Bindings): Promise<Record<string, unknown>> {
  const { db } = backgroundDatabase(env, "job-factory-webhook-deliveries");
  const [purged] = await runAs(db, PURGE_PRINCIPAL, [purgeWebhookDeliveries(db)] as const);
  return { purged: purged.rowCount ?? 0 };
}
