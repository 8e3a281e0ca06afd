import { sql } from "drizzle-orm";
import { primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import type { Database } from "../platform/db";
import { factory, tenants, workflows } from "./schema";

/**
 * The trigger tables of migration 0017 (additions to the document's 27, so not in FACTORY_TABLES)
 * and the statements the trigger jobs and the webhook route run on them: each one statement for
 * the caller's batch, idempotent under concurrency.
 */

export const workflowWebhookSecrets = factory.table("workflow_webhook_secrets", {
  workflowId: uuid("workflow_id").primaryKey().references(() => workflows.id, { onDelete: "cascade" }),
  tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
  /** `v1.<kid>.<iv>.<ct>` (src/platform/sealed-secrets.ts), owner webhookSecretOwner(). */
  secretSealed: text("secret_sealed").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  rotatedAt: timestamp("rotated_at", { withTimezone: true }),
});

export const workflowScheduleSlots = factory.table(
  "workflow_schedule_slots",
  {
    workflowId: uuid("workflow_id").notNull().references(() => workflows.id, { onDelete: "cascade" }),
    slotAt: timestamp("slot_at", { withTimezone: true }).notNull(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    claimedAt: timestamp("claimed_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.workflowId, t.slotAt] })],
);

export const workflowWebhookDeliveries = factory.table(
  "workflow_webhook_deliveries",
  {
    workflowId: uuid("workflow_id").notNull().references(() => workflows.id, { onDelete: "cascade" }),
    webhookId: text("webhook_id").notNull(),
    tenantId: uuid("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.workflowId, t.webhookId] })],
);

/** What a sealed webhook secret is bound to (sealed-secrets additional data): moved to another workflow, it no longer opens. */
export const webhookSecretOwner = (tenantId: string, workflowId: string) => `factory.workflow_webhook:${tenantId}:${workflowId}`;

/**
 * A webhook-triggered workflow with its sealed secret, for the webhook route to verify a
 * delivery (run as the service role: the caller is no user).
 */
export const webhookTarget = (db: Database, workflowId: string) =>
  db.execute<{ id: string; tenant_id: string; is_active: boolean; enabled: boolean; tenant_active: boolean; created_by: string | null; secret_sealed: string }>(sql`
    select w.id, w.tenant_id, w.is_active, coalesce((w.trigger_config ->> 'enabled')::boolean, true) as enabled, t.status = 'active' as tenant_active,
           w.created_by, s.secret_sealed
    from factory.workflows w join factory.workflow_webhook_secrets s on s.workflow_id = w.id join factory.tenants t on t.id = w.tenant_id
    where w.id = ${workflowId}::uuid and w.trigger_config ->> 'type' = 'webhook'`);

/**
 * Records a delivery's webhook-id beside the instance it started: only when instance
 * `instanceId` of the workflow was inserted by this transaction (earlier in the batch), so a
 * refused delivery records nothing and the record commits with its instance.
 */
export const recordWebhookDelivery = (db: Database, workflowId: string, webhookId: string, instanceId: string) =>
  db.execute<{ workflow_id: string }>(sql`
    insert into factory.workflow_webhook_deliveries (workflow_id, webhook_id, tenant_id)
    select i.workflow_id, ${webhookId}, i.tenant_id from factory.workflow_instances i
    where i.id = ${instanceId}::uuid and i.workflow_id = ${workflowId}::uuid and i.xmin = pg_current_xact_id()::xid
    on conflict (workflow_id, webhook_id) do nothing
    returning workflow_id`);

/** Deliveries older than any timestamp the 5-minute tolerance still admits (an hour, with room for clock skew). */
export const purgeWebhookDeliveries = (db: Database) =>
  db.execute(sql`delete from factory.workflow_webhook_deliveries where received_at < now() - interval '1 hour'`);

/** The active, enabled schedule-triggered workflows of every tenant (as the service role): what the minute cron evaluates. */
export const activeSchedules = (db: Database) =>
  db.execute<{ id: string; tenant_id: string; created_by: string | null; cron: string; timezone: string; activated_ms: number | null }>(sql`
    select w.id, w.tenant_id, w.created_by, w.trigger_config ->> 'cron' as cron, coalesce(w.trigger_config ->> 'timezone', 'UTC') as timezone, (extract(epoch from w.activated_at) * 1000)::float8 as activated_ms
    from factory.workflows w join factory.tenants t on t.id = w.tenant_id
    where w.is_active and t.status = 'active' and w.trigger_config ->> 'type' = 'schedule'
      and coalesce((w.trigger_config ->> 'enabled')::boolean, true)`);

/** Claims schedule slots: returns the (workflow, slot) pairs this caller won, each won once across all callers. */
export const claimScheduleSlots = (db: Database, slots: { workflowId: string; slotAt: Date }[]) =>
  db.execute<{ workflow_id: string; slot_ms: number }>(sql`
    insert into factory.workflow_schedule_slots (workflow_id, slot_at, tenant_id)
    select w.id, s.slot_at, w.tenant_id
    from jsonb_to_recordset(${JSON.stringify(slots.map((s) => ({ workflow_id: s.workflowId, slot_at: s.slotAt.toISOString() })))}::jsonb) as s(workflow_id uuid, slot_at timestamptz)
    join factory.workflows w on w.id = s.workflow_id
    on conflict (workflow_id, slot_at) do nothing
    returning workflow_id, (extract(epoch from slot_at) * 1000)::float8 as slot_ms`);

/**
 * The tenant's active, enabled event-triggered workflows listening for `event` (their filters are
 * matched in code: eventMatches), with the names of their input variables.
 */
export const eventListeners = (db: Database, tenantId: string, event: string) =>
  db.execute<{ id: string; tenant_id: string; created_by: string | null; event_filter: Record<string, unknown>; input_keys: string[] }>(sql`
    select w.id, w.tenant_id, w.created_by, w.trigger_config -> 'event_filter' as event_filter,
           (select coalesce(jsonb_agg(k), '[]'::jsonb) from jsonb_object_keys(coalesce(w.dsl_json #> '{variables,input}', '{}'::jsonb)) as k) as input_keys
    from factory.workflows w join factory.tenants t on t.id = w.tenant_id
    where w.tenant_id = ${tenantId}::uuid and w.is_active and t.status = 'active' and w.trigger_config ->> 'type' = 'event'
      and w.trigger_config -> 'event_filter' ->> 'event' = ${event}
      and coalesce((w.trigger_config ->> 'enabled')::boolean, true)`);
