import { eq, sql, type SQL } from "drizzle-orm";
import type { Database } from "../platform/db";
import { columnsOf } from "../platform/table-schema";
import { auditFrom, ruleEvent, type AuditContext } from "./rule-audit";
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

/**
 * A draft deployment of a compiled version, requested by the caller, with its audit row and the
 * conflict-detection event, in one statement: nothing is written unless the ruleset is visible,
 * the version compiled, and `rollbackTo` (when given) was approved before. rollback_to defaults
 * to the version active now when that is another version.
 */
export function insertDeployment(db: Database, r: DeploymentRequest, ctx: AuditContext) {
  const rollbackTo =
    r.rollbackTo === null
      ? sql`(select a.version from ${D} a where a.ruleset_id = rs.id and a.status = 'active' and a.version <> s.version)`
      : sql`${r.rollbackTo}::int`;
  return db.execute<{ id: string }>(sql`
    with moved as (
      insert into ${D} (id, tenant_id, ruleset_id, version, status, canary_pct, canary_target_filter, rollback_to, changelog, requested_by)
      select ${r.id}::uuid, rs.tenant_id, rs.id, s.version, 'draft', ${r.canaryPct}::float8,
             ${r.canaryTargetFilter === null ? null : JSON.stringify(r.canaryTargetFilter)}::jsonb, ${rollbackTo}, ${r.changelog}, app.user_id()
      from ${rulesets} rs join ${ruleScripts} s on s.ruleset_id = rs.id and s.version = ${r.version} and s.compile_status = 'compiled'
      where rs.id = ${r.rulesetId}::uuid
        and (${r.rollbackTo}::int is null or exists (
          select 1 from ${D} p where p.ruleset_id = rs.id and p.version = ${r.rollbackTo}::int and p.approved_at is not null))
      returning *),
    ${auditFrom("moved", null, "deploy", "rule_deployment", ctx)},
    ${ruleEvent("moved", "RULE_DEPLOYMENT_CHANGED")}
    select id from moved`);
}

/** Why a deployment request wrote nothing: the ruleset, the version and its compile status, whether rollbackTo was ever approved. */
export function requestState(db: Database, rulesetId: string, version: number, rollbackTo: number | null) {
  return db.execute<{ ruleset: boolean; compileStatus: string | null; rollbackApproved: boolean }>(sql`
    select exists (select 1 from ${rulesets} where id = ${rulesetId}::uuid) as ruleset,
           (select compile_status from ${ruleScripts} where ruleset_id = ${rulesetId}::uuid and version = ${version}) as "compileStatus",
           (${rollbackTo}::int is null or exists (
             select 1 from ${D} p where p.ruleset_id = ${rulesetId}::uuid and p.version = ${rollbackTo}::int and p.approved_at is not null)) as "rollbackApproved"`);
}

export type MoveName = "approve" | "promote" | "rollback" | "deprecate";

interface Move {
  from: readonly DeploymentStatus[];
  /** The SET list (old values visible as the row's columns). */
  set: SQL;
  /** Beyond the status: what else the row must satisfy (four eyes, the free canary slot). */
  guard?: SQL;
  /** Whether this move may make the deployment active (then the current active one is deprecated first). */
  activates?: SQL;
}

const fourEyes = sql`requested_by is distinct from app.user_id()`;
const canarySlotFree = sql`(canary_pct is null or not exists (select 1 from ${D} c where c.ruleset_id = ${D}.ruleset_id and c.status = 'canary'))`;

/**
 * The state machine of §5.3 (docs/factory-rules.md, "Deployments"): the states each move accepts
 * and what it writes. Approval goes to canary when the request gave canary_pct, else to active.
 */
export const MOVES: Record<MoveName, Move> = {
  approve: {
    from: ["draft"],
    set: sql`status = case when canary_pct is null then 'active' else 'canary' end, approver_id = app.user_id(), approved_at = now(), deployed_at = now()`,
    guard: sql`${fourEyes} and ${canarySlotFree}`,
    activates: sql`canary_pct is null`,
  },
  promote: {
    from: ["canary"],
    set: sql`status = 'active', metadata = metadata || jsonb_build_object('promotedBy', app.user_id(), 'promotedAt', now())`,
    guard: fourEyes,
    activates: sql`true`,
  },
  rollback: {
    from: ["canary", "active"],
    set: sql`status = 'rolled_back', rolled_back_at = now(), metadata = metadata || jsonb_build_object('rolledBackFrom', status, 'rolledBackBy', app.user_id())`,
  },
  deprecate: {
    from: ["draft", "canary", "active"],
    set: sql`status = 'deprecated', metadata = metadata || jsonb_build_object('deprecatedFrom', status, 'deprecatedBy', app.user_id())`,
  },
};

const statusList = (from: readonly string[]) => sql.join(from.map((s) => sql`${s}`), sql`, `);

/** Deprecates the ruleset's active deployment when the move is about to make `id` active (same conditions as the move). */
function deprecateDisplaced(db: Database, id: string, move: Move) {
  return db.execute(sql`
    update ${D} o set status = 'deprecated', metadata = o.metadata || jsonb_build_object('deprecatedFrom', 'active', 'displacedBy', ${id}::uuid)
    where o.status = 'active' and o.id <> ${id}::uuid and o.ruleset_id = (
      select ruleset_id from ${D}
      where id = ${id}::uuid and status in (${statusList(move.from)}) and ${move.guard ?? sql`true`} and ${move.activates ?? sql`false`})`);
}

/** The move itself, one conditional UPDATE, with its audit row and event written only when it happened. */
function applyMove(db: Database, id: string, name: MoveName, move: Move, ctx: AuditContext) {
  return db.execute<{ id: string }>(sql`
    with before as (select * from ${D} where id = ${id}::uuid),
    moved as (
      update ${D} set ${move.set}
      where id = ${id}::uuid and status in (${statusList(move.from)}) and ${move.guard ?? sql`true`}
      returning *),
    ${auditFrom("moved", "before", name, "rule_deployment", ctx)},
    ${ruleEvent("moved", "RULE_DEPLOYMENT_CHANGED")}
    select id from moved`);
}

/**
 * Rolling back an active deployment restores its rollback_to: a new active row for that version,
 * written only when this transaction rolled the deployment back from active (rolled_back_at is
 * the transaction's now()).
 */
function restoreRollbackTarget(db: Database, id: string, ctx: AuditContext) {
  return db.execute(sql`
    with moved as (
      insert into ${D} (tenant_id, ruleset_id, version, status, changelog, requested_by, deployed_at, metadata)
      select d.tenant_id, d.ruleset_id, d.rollback_to, 'active', format('rollback of deployment %s: restores version %s', d.id, d.rollback_to),
             app.user_id(), now(), jsonb_build_object('restores', d.rollback_to, 'rollbackOf', d.id)
      from ${D} d join ${ruleScripts} s on s.ruleset_id = d.ruleset_id and s.version = d.rollback_to and s.compile_status = 'compiled'
      where d.id = ${id}::uuid and d.status = 'rolled_back' and d.rolled_back_at = now()
        and d.metadata ->> 'rolledBackFrom' = 'active' and d.rollback_to is not null
      returning *),
    ${auditFrom("moved", null, "deploy", "rule_deployment", ctx)}
    select id from moved`);
}

/** rulesets.is_active says whether the ruleset has an active deployment: kept after every move. */
export function syncRulesetActive(db: Database, rulesetOf: SQL) {
  const live = sql`exists (select 1 from ${D} d where d.ruleset_id = ${rulesets}.id and d.status = 'active')`;
  return db.execute(sql`update ${rulesets} set is_active = ${live} where id = (${rulesetOf}) and is_active is distinct from ${live}`);
}

/** The deployment as the caller sees it after the batch, and the canary that holds the slot (to explain a refusal). */
export function deploymentRow(db: Database, id: string) {
  return db
    .select({
      ...columnsOf(D),
      otherCanary: sql<string | null>`(select c.id from ${D} c where c.ruleset_id = ${D.rulesetId} and c.status = 'canary' and c.id <> ${D.id} limit 1)`,
    })
    .from(D)
    .where(eq(D.id, id));
}

/**
 * Every statement of one move, in batch order: the displaced active deployment first (approve,
 * promote), then the move, the restored version (rollback), is_active, and the row read back.
 * `moveAt` is the index of the move's result.
 */
export function moveStatements(db: Database, id: string, name: MoveName, ctx: AuditContext) {
  const move = MOVES[name];
  const rulesetOf = sql`select ruleset_id from ${D} where id = ${id}::uuid`;
  const before = move.activates ? [deprecateDisplaced(db, id, move)] : [];
  const after = name === "rollback" ? [restoreRollbackTarget(db, id, ctx)] : [];
  const statements = [...before, applyMove(db, id, name, move, ctx), ...after, syncRulesetActive(db, rulesetOf), deploymentRow(db, id)];
  return { statements, moveAt: before.length };
}
