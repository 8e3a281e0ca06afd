import { and, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "../platform/db";
import { audited, type Actor } from "./audit";
import { ruleEvent } from "./rule-events";
import { autoRuleCandidates as C, ruleDeployments, rulesets, ruleScripts } from "./schema";

/** States a candidate can be decided from. */
export const OPEN_STATUSES = ["pending", "testing"] as const;

/**
 * Approving a candidate (docs/factory-learning.md, "Approval"), one transaction: the candidate
 * becomes approved — only when it is open and compiled (a candidate that does not compile is
 * never approvable) — then its script becomes the ruleset's next version (numbered under the
 * same per-ruleset lock as POST /rules/rulesets/{id}/scripts) and a draft deployment of that
 * version is requested by the approver, so another user approves the deployment (four eyes).
 * Each step is audited and conditional on the previous one having happened in this transaction.
 */
export function approveStatements(db: Database, actor: Actor, tenantId: string, candidateId: string, scriptId: string, deploymentId: string) {
  const open = and(eq(C.id, candidateId), inArray(C.approvalStatus, [...OPEN_STATUSES]), sql`${C.metadata} ->> 'compile_status' = 'compiled'`, sql`${C.rulesetId} is not null`)!;
  const approved = sql`(select c.ruleset_id from ${C} c where c.id = ${candidateId}::uuid and c.approval_status = 'approved' and c.xmin = pg_current_xact_id()::xid)`;
  const versionInsert = sql`
    insert into ${ruleScripts} (id, ruleset_id, version, language, script, script_hash, compile_status, test_coverage, created_by)
    select ${scriptId}::uuid, c.ruleset_id, coalesce((select max(s.version) from ${ruleScripts} s where s.ruleset_id = c.ruleset_id), 0) + 1, 'rhai',
           c.generated_rule, c.metadata ->> 'script_hash', 'compiled', (c.metadata ->> 'test_coverage')::float8, app.user_id()
    from ${C} c
    where c.id = ${candidateId}::uuid and c.ruleset_id = ${approved}
    returning *`;
  const deploymentInsert = sql`
    insert into ${ruleDeployments} (id, tenant_id, ruleset_id, version, status, rollback_to, changelog, requested_by)
    select ${deploymentId}::uuid, rs.tenant_id, s.ruleset_id, s.version, 'draft',
           (select a.version from ${ruleDeployments} a where a.ruleset_id = s.ruleset_id and a.status = 'active' and a.version <> s.version limit 1),
           'auto rule candidate ' || c.id || ' (' || c.generation_method || '): precision ' || coalesce(round(c.precision::numeric, 4)::text, '-') ||
             ', recall ' || coalesce(round(c.recall::numeric, 4)::text, '-') || ', F1 ' || coalesce(round(c.f1_score::numeric, 4)::text, '-'),
           app.user_id()
    from ${ruleScripts} s join ${rulesets} rs on rs.id = s.ruleset_id join ${C} c on c.id = ${candidateId}::uuid
    where s.id = ${scriptId}::uuid and s.xmin = pg_current_xact_id()::xid
    returning *`;
  return [
    db.execute(sql`select pg_advisory_xact_lock(hashtextextended('factory.rule_scripts:' || (select ruleset_id::text from ${C} where id = ${candidateId}::uuid), 0))`),
    audited(db, actor, {
      action: "approve",
      resourceType: "auto_rule_candidate",
      table: C,
      change: db
        .update(C)
        .set({ approvalStatus: "approved", isApproved: true, approverId: sql`app.user_id()`, approvedAt: sql`now()`, metadata: sql`${C.metadata} || jsonb_build_object('rule_script_id', ${scriptId}::text, 'deployment_id', ${deploymentId}::text)` })
        .where(open)
        .returning(),
      where: open,
    }),
    audited(db, actor, { action: "create", resourceType: "rule_script", table: ruleScripts, change: versionInsert, where: sql`false`, tenantId }),
    ruleEvent(db, "RULE_VERSION_CREATED", scriptId),
    audited(db, actor, { action: "deploy", resourceType: "rule_deployment", table: ruleDeployments, change: deploymentInsert, where: sql`false` }),
    ruleEvent(db, "RULE_DEPLOYMENT_CHANGED", deploymentId),
    candidateState(db, candidateId),
  ] as const;
}

/** Rejecting an open candidate, with the reason. */
export function rejectStatements(db: Database, actor: Actor, candidateId: string, reason: string) {
  const open = and(eq(C.id, candidateId), inArray(C.approvalStatus, [...OPEN_STATUSES]))!;
  return [
    audited(db, actor, {
      action: "reject",
      resourceType: "auto_rule_candidate",
      table: C,
      change: db.update(C).set({ approvalStatus: "rejected", isApproved: false, approverId: sql`app.user_id()`, rejectionReason: reason }).where(open).returning(),
      where: open,
    }),
    candidateState(db, candidateId),
  ] as const;
}

/** Why a decision changed nothing: no such candidate, its state, whether it compiled. */
function candidateState(db: Database, candidateId: string) {
  return db
    .select({ status: C.approvalStatus, compileStatus: sql<string | null>`${C.metadata} ->> 'compile_status'`, rulesetId: C.rulesetId })
    .from(C)
    .where(eq(C.id, candidateId));
}
