import { sql, type SQL } from "drizzle-orm";
import { outboxEvents } from "../platform/outbox";
import { auditLogs } from "./schema";

export interface AuditContext {
  ip: string | null;
  userAgent: string | null;
  traceId: string;
}

/**
 * A CTE (`audit as (…)`) writing one audit row per row of the data-modifying CTE `cte`, in the
 * same statement as the change: no change, no row; no row, no change. `before` names a CTE holding
 * the rows as they were (null for a creation); the diff is factory.json_patch (RFC 6902).
 */
export function auditFrom(cte: string, before: string | null, action: string, resourceType: string, ctx: AuditContext): SQL {
  const beforeState = before ? sql`to_jsonb(b)` : sql`null::jsonb`;
  const join = before ? sql`left join ${sql.identifier(before)} b on b.id = m.id` : sql``;
  return sql`audit as (
    insert into ${auditLogs} (tenant_id, actor_id, actor_type, action, resource_type, resource_id, before_state, after_state, diff, ip_address, user_agent, trace_id)
    select factory.caller_tenant(), app.user_id(), 'user', ${action}, ${resourceType}, m.id::text, ${beforeState}, to_jsonb(m),
           factory.json_patch(${beforeState}, to_jsonb(m)), ${ctx.ip}::inet, ${ctx.userAgent}, ${ctx.traceId}
    from ${sql.identifier(cte)} m ${join})`;
}

export const RULE_EVENT_TYPES = ["RULE_VERSION_CREATED", "RULE_DEPLOYMENT_CHANGED"] as const;
export type RuleEventType = (typeof RULE_EVENT_TYPES)[number];

/**
 * A CTE (`event as (…)`) writing the outbox event that makes the conflict consumer compare the
 * rows of `cte` (rule_scripts or rule_deployments rows: ruleset_id and version) with what else is
 * live; `where` narrows the rows (only compiled versions can be compared).
 */
export function ruleEvent(cte: string, type: RuleEventType, where: SQL = sql`true`): SQL {
  return sql`event as (
    insert into ${outboxEvents} (id, system, event_type, actor_id, entity_id, payload)
    select gen_random_uuid(), 'factory', ${type}, app.user_id()::text, m.id::text,
           jsonb_build_object('tenantId', factory.caller_tenant(), 'rulesetId', m.ruleset_id, 'version', m.version)
    from ${sql.identifier(cte)} m where ${where})`;
}
