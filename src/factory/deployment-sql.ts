import { eq, sql, type SQL } from "drizzle-orm";
import type { Database } from "../platform/db";
import { columnsOf } from "../platform/table-schema";
import { audited, type Actor } from "./audit";
import { ruleEvent } from "./rule-events";
import { ruleDeployments as D, rulesets, ruleScripts } from "./schema";

export type DeploymentStatus = (typeof D.$inferSelect)["status"];

export interface DeploymentRequest {
  id: string;
  rulesetId: string;
  version: number;
  changelog: string;
  canaryPct: number | null;
  canaryTargetFilter: Record<string, unknown> | null;
  rollbackTo: number | null;
}

const col = (alias: string, name: string) => sql`${sql.identifier(alias)}.${sql.identifier(name)}`;
// audited() needs `where` for anything that is not a Drizzle insert builder; an insert … select touches no existing row.
const NO_EXISTING_ROWS = sql`false`;

/**
 * A draft deployment of a compiled version, requested by the caller, audited (`deploy`): nothing
 * is written unless the ruleset is visible, the version compiled and `rollbackTo` (when given) was
 * approved before. rollback_to defaults to the version active now when that is another version.
 */
export function insertDeployment(db: Database, actor: Actor, r: DeploymentRequest) {
  const rollbackTo =
    r.rollbackTo === null
      ? sql`(select a.version from ${D} a where a.ruleset_id = rs.id and a.status = 'active' and a.version <> s.version)`
      : sql`${r.rollbackTo}::int`;
  const filter = r.canaryTargetFilter === null ? null : JSON.stringify(r.canaryTargetFilter);
  const change = sql`
    insert into ${D} (id, tenant_id, ruleset_id, version, status, canary_pct, canary_target_filter, rollback_to, changelog, requested_by)
    select ${r.id}::uuid, rs.tenant_id, rs.id, s.version, 'draft', ${r.canaryPct}::float8, ${filter}::jsonb, ${rollbackTo}, ${r.changelog}, app.user_id()
    from ${rulesets} rs join ${ruleScripts} s on s.ruleset_id = rs.id and s.version = ${r.version} and s.compile_status = 'compiled'
    where rs.id = ${r.rulesetId}::uuid and (${r.rollbackTo}::int is null or ${approvedBefore(sql`rs.id`, r.rollbackTo)})
    returning *`;
  return [
    audited(db, actor, { action: "deploy", resourceType: "rule_deployment", table: D, change, where: NO_EXISTING_ROWS }),
    ruleEvent(db, "RULE_DEPLOYMENT_CHANGED", r.id),
    requestState(db, r),
  ] as const;
}

const approvedBefore = (ruleset: SQL, version: number | null) =>
  sql`exists (select 1 from ${D} p where p.ruleset_id = ${ruleset} and p.version = ${version}::int and p.approved_at is not null)`;

/** Why a deployment request wrote nothing: the ruleset, the version's compile status, whether rollbackTo was approved before. */
function requestState(db: Database, r: DeploymentRequest) {
  return db
    .select({
      ruleset: sql<boolean>`exists (select 1 from ${rulesets} where id = ${r.rulesetId}::uuid)`,
      compileStatus: sql<string | null>`(select compile_status from ${ruleScripts} where ruleset_id = ${r.rulesetId}::uuid and version = ${r.version})`,
      rollbackApproved: sql<boolean>`(${r.rollbackTo}::int is null or ${approvedBefore(sql`${r.rulesetId}::uuid`, r.rollbackTo)})`,
    })
    .from(sql`(select 1) as one`);
}

export type MoveName = "approve" | "promote" | "rollback" | "deprecate";

interface Move {
  from: readonly DeploymentStatus[];
  set: Record<string, SQL>;
  /** Beyond the status, what the row (by alias) must satisfy: four eyes, a free canary slot. */
  guard?: (t: string) => SQL;
  /** When the move makes the row active (the current active deployment is deprecated first). */
  activates?: (t: string) => SQL;
}

const fourEyes = (t: string) => sql`${col(t, "requested_by")} is distinct from app.user_id()`;
const canarySlotFree = (t: string) =>
  sql`(${col(t, "canary_pct")} is null or not exists (select 1 from ${D} c where c.ruleset_id = ${col(t, "ruleset_id")} and c.status = 'canary'))`;
const mergeMetadata = (fields: SQL) => sql`${D.metadata} || ${fields}`;

/**
 * §5.3's state machine (docs/factory-rules.md, "Deployments"): the states each move accepts and
 * what it writes. Approval goes to canary when the request gave canary_pct, else to active.
 */
export const MOVES: Record<MoveName, Move> = {
  approve: {
    from: ["draft"],
    set: {
      status: sql`case when ${D.canaryPct} is null then 'active' else 'canary' end`,
      approverId: sql`app.user_id()`,
      approvedAt: sql`now()`,
      deployedAt: sql`now()`,
    },
    guard: (t) => sql`${fourEyes(t)} and ${canarySlotFree(t)}`,
    activates: (t) => sql`${col(t, "canary_pct")} is null`,
  },
  promote: {
    from: ["canary"],
    set: { status: sql`'active'`, metadata: mergeMetadata(sql`jsonb_build_object('promotedBy', app.user_id(), 'promotedAt', now())`) },
    guard: fourEyes,
    activates: () => sql`true`,
  },
  rollback: {
    from: ["canary", "active"],
    set: {
      status: sql`'rolled_back'`,
      rolledBackAt: sql`now()`,
      metadata: mergeMetadata(sql`jsonb_build_object('rolledBackFrom', ${D.status}, 'rolledBackBy', app.user_id())`),
    },
  },
  deprecate: {
    from: ["draft", "canary", "active"],
    set: { status: sql`'deprecated'`, metadata: mergeMetadata(sql`jsonb_build_object('deprecatedFrom', ${D.status}, 'deprecatedBy', app.user_id())`) },
  },
};

const inStates = (t: string, from: readonly string[]) => sql`${col(t, "status")} in (${sql.join(from.map((s) => sql`${s}`), sql`, `)})`;

/** The move's own condition on row `t`: its id, an accepted state, the guard. */
const movable = (t: string, id: string, move: Move) => sql`${col(t, "id")} = ${id}::uuid and ${inStates(t, move.from)} and ${move.guard?.(t) ?? sql`true`}`;

/** The ruleset's active deployment, deprecated (audited) when the move is about to make `id` active: the same conditions as the move. */
function deprecateDisplaced(db: Database, actor: Actor, id: string, move: Move) {
  const where = sql`${D.status} = 'active' and ${D.id} <> ${id}::uuid and ${D.rulesetId} = (
    select x.ruleset_id from ${D} x where ${movable("x", id, move)} and ${move.activates!("x")})`;
  const change = db
    .update(D)
    .set({ status: "deprecated", metadata: mergeMetadata(sql`jsonb_build_object('deprecatedFrom', 'active', 'displacedBy', ${id}::uuid)`) })
    .where(where)
    .returning();
  return audited(db, actor, { action: "deprecate", resourceType: "rule_deployment", table: D, change, where });
}

/**
 * Rolling back an active deployment restores its rollback_to: a new active row for that version
 * (audited as `deploy`), written only when this transaction rolled the deployment back from
 * active (rolled_back_at is the transaction's now()).
 */
function restoreRollbackTarget(db: Database, actor: Actor, id: string) {
  const change = sql`
    insert into ${D} (tenant_id, ruleset_id, version, status, changelog, requested_by, deployed_at, metadata)
    select d.tenant_id, d.ruleset_id, d.rollback_to, 'active', format('rollback of deployment %s: restores version %s', d.id, d.rollback_to),
           app.user_id(), now(), jsonb_build_object('restores', d.rollback_to, 'rollbackOf', d.id)
    from ${D} d join ${ruleScripts} s on s.ruleset_id = d.ruleset_id and s.version = d.rollback_to and s.compile_status = 'compiled'
    where d.id = ${id}::uuid and d.status = 'rolled_back' and d.rolled_back_at = now()
      and d.metadata ->> 'rolledBackFrom' = 'active' and d.rollback_to is not null
    returning *`;
  return audited(db, actor, { action: "deploy", resourceType: "rule_deployment", table: D, change, where: NO_EXISTING_ROWS });
}

/** rulesets.is_active says whether the ruleset has an active deployment: recomputed after every move. */
function syncRulesetActive(db: Database, id: string) {
  const live = sql`exists (select 1 from ${D} d where d.ruleset_id = ${rulesets.id} and d.status = 'active')`;
  return db.execute(sql`update ${rulesets} set is_active = ${live} where id = (select ruleset_id from ${D} where id = ${id}::uuid) and is_active is distinct from ${live}`);
}

/** The deployment as the caller sees it after the batch, and the canary holding the slot (to explain a refusal). */
export function deploymentRow(db: Database, id: string) {
  return db
    .select({
      ...columnsOf(D),
      // Columns in a select list render unqualified: name the outer row explicitly.
      otherCanary: sql<string | null>`(select c.id from ${D} c where c.ruleset_id = ${col("rule_deployments", "ruleset_id")} and c.status = 'canary' and c.id <> ${col("rule_deployments", "id")} limit 1)`,
    })
    .from(D)
    .where(eq(D.id, id));
}

/**
 * One move's statements in batch order: the displaced active deployment (approve, promote), the
 * move (one conditional UPDATE, audited), the restored version (rollback), the conflict event,
 * is_active, and the row read back. `moveAt` is the index of the move's result.
 */
export function moveStatements(db: Database, actor: Actor, id: string, name: MoveName) {
  const move = MOVES[name];
  const where = movable("rule_deployments", id, move);
  const change = db.update(D).set(move.set).where(where).returning();
  const before = move.activates ? [deprecateDisplaced(db, actor, id, move)] : [];
  const after = name === "rollback" ? [restoreRollbackTarget(db, actor, id)] : [];
  const event = name === "approve" || name === "promote" ? [ruleEvent(db, "RULE_DEPLOYMENT_CHANGED", id)] : [];
  const statements = [
    ...before,
    audited(db, actor, { action: name, resourceType: "rule_deployment", table: D, change, where }),
    ...after,
    ...event,
    syncRulesetActive(db, id),
    deploymentRow(db, id),
  ];
  return { statements, moveAt: before.length };
}
