import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../platform/db";
import { columnsOf } from "../platform/table-schema";
import { audited, type Actor } from "./audit";
import type { Finding } from "./rule-engine";
import { ruleEvent } from "./rule-events";
import { ruleConflicts, rulesets, ruleScripts } from "./schema";

export interface NewVersion {
  id: string;
  rulesetId: string;
  script: string;
  scriptHash: string;
  compileStatus: "compiled" | "failed";
  compileError: string | null;
  testCoverage: number | null;
}

/**
 * A new version of a ruleset, its version number computed in SQL: the first statement takes a
 * transaction advisory lock per ruleset, so concurrent writers queue and each insert (a later
 * statement, hence a later snapshot) sees the versions committed before it; UNIQUE (ruleset_id,
 * version) stays the last line of defence. Then the version's own conflicts, the conflict event
 * and the row read back with them. Nothing is written when the ruleset is not visible.
 */
export function insertVersion(db: Database, actor: Actor, tenantId: string, v: NewVersion, findings: readonly Finding[]) {
  const change = sql`
    insert into ${ruleScripts} (id, ruleset_id, version, language, script, script_hash, compile_status, compile_error, test_coverage, created_by)
    select ${v.id}::uuid, rs.id, coalesce((select max(s.version) from ${ruleScripts} s where s.ruleset_id = rs.id), 0) + 1, 'rhai',
           ${v.script}, ${v.scriptHash}, ${v.compileStatus}, ${v.compileError}, ${v.testCoverage}::float8, app.user_id()
    from ${rulesets} rs where rs.id = ${v.rulesetId}::uuid
    returning *`;
  return [
    db.execute(sql`select pg_advisory_xact_lock(hashtextextended('factory.rule_scripts:' || ${v.rulesetId}, 0))`),
    // An insert … select touches no existing row: audited() needs `where` only for its before-state.
    audited(db, actor, { action: "create", resourceType: "rule_script", table: ruleScripts, change, where: sql`false`, tenantId }),
    ownConflicts(db, v.id, findings),
    ruleEvent(db, "RULE_VERSION_CREATED", v.id),
    db.select({ ruleset: sql<boolean>`exists (select 1 from ${rulesets} where id = ${v.rulesetId}::uuid)` }).from(sql`(select 1) as one`),
    versionConflicts(db, v.id),
  ] as const;
}

/** The findings about the new version alone (versions 1 and 2 both the new one), once per type: 0016's finding key. */
function ownConflicts(db: Database, versionId: string, findings: readonly Finding[]) {
  return db.execute(sql`
    insert into ${ruleConflicts} (tenant_id, ruleset_id, rule_version_1, rule_version_2, conflict_type, description, severity)
    select factory.caller_tenant(), s.ruleset_id, s.version, s.version, f.type, f.description, f.severity
    from ${ruleScripts} s cross join jsonb_to_recordset(${JSON.stringify(findings.map((f) => ({ type: f.conflictType, description: f.description, severity: f.severity })))}::jsonb)
         as f(type text, description text, severity text)
    where s.id = ${versionId}::uuid and s.xmin = pg_current_xact_id()::xid
    on conflict do nothing`);
}

/** The conflicts recorded about one version alone (by its id). */
function versionConflicts(db: Database, versionId: string) {
  const version = sql`(select s.version from ${ruleScripts} s where s.id = ${versionId}::uuid)`;
  const ruleset = sql`(select s.ruleset_id from ${ruleScripts} s where s.id = ${versionId}::uuid)`;
  return db
    .select(columnsOf(ruleConflicts))
    .from(ruleConflicts)
    .where(and(sql`${ruleConflicts.rulesetId} = ${ruleset}`, sql`${ruleConflicts.ruleVersion1} = ${version}`, sql`${ruleConflicts.ruleVersion2} = ${version}`))
    .orderBy(ruleConflicts.conflictType);
}

/** One version of a ruleset. */
export function versionRow(db: Database, rulesetId: string, version: number) {
  return db
    .select(columnsOf(ruleScripts))
    .from(ruleScripts)
    .where(and(eq(ruleScripts.rulesetId, rulesetId), eq(ruleScripts.version, version)));
}
