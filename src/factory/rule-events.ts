import { sql } from "drizzle-orm";
import type { Database } from "../platform/db";
import { outboxEvents } from "../platform/outbox";
import { ruleDeployments, ruleScripts } from "./schema";

export const RULE_EVENT_TYPES = ["RULE_VERSION_CREATED", "RULE_DEPLOYMENT_CHANGED"] as const;
export type RuleEventType = (typeof RULE_EVENT_TYPES)[number];

const TABLES = { RULE_VERSION_CREATED: ruleScripts, RULE_DEPLOYMENT_CHANGED: ruleDeployments } as const;

/**
 * The outbox event that makes the conflict consumer compare a new version or a moved deployment
 * with what else is live (docs/factory-rules.md, "Conflicts"), placed after the change in the same
 * batch. It is written only when this transaction wrote the row (its xmin is the transaction's
 * id), so a refused change sends nothing; a failed compile is never compared.
 */
export function ruleEvent(db: Database, type: RuleEventType, id: string) {
  const table = TABLES[type];
  const compiled = type === "RULE_VERSION_CREATED" ? sql`and m.compile_status = 'compiled'` : sql``;
  return db.execute(sql`
    insert into ${outboxEvents} (id, system, event_type, actor_id, entity_id, payload)
    select gen_random_uuid(), 'factory', ${type}, app.user_id()::text, m.id::text,
           jsonb_build_object('tenantId', factory.caller_tenant(), 'rulesetId', m.ruleset_id, 'version', m.version)
    from ${table} m
    where m.id = ${id}::uuid and m.xmin = pg_current_xact_id()::xid ${compiled}`);
}
