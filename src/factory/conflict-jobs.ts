import { z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { servicePrincipal } from "../platform/auth";
import type { Bindings } from "../platform/context";
import { backgroundDatabase, runAs, type Database } from "../platform/db";
import type { RelayedEvent } from "../platform/relay";
import type { EventConsumer } from "../platform/system";
import { compile, type Program } from "./rhai";
import { compareVersions, type Finding } from "./rule-engine";
import { judgmentExecutions, ruleConflicts, ruleDeployments, rulesets, ruleScripts } from "./schema";

/**
 * The conflict consumer (docs/factory-rules.md, "Conflicts"): after a new version or a deployment
 * move, compare that version with the ruleset's live versions (or its previous one) and, for a
 * deployment, with the active version of every other ruleset of the tenant on the same
 * target_kpi, over the tenant's stored inputs and the grid. One round trip reads, one writes what
 * it found (none when nothing is found); the finding key makes a redelivery harmless.
 */

export const CONSUMER = "factory.rule-conflicts";
/** How many stored judgment inputs of the KPI are compared (the newest). */
const STORED_INPUTS = 200;

const Payload = z.object({ tenantId: z.uuid(), rulesetId: z.uuid(), version: z.int().min(1) });

interface Script {
  rulesetId: string;
  name: string;
  version: number;
  script: string;
}
interface Snapshot {
  subject: Script | null;
  peers: Script[];
  others: Script[];
  inputs: Record<string, unknown>[];
}

/** Everything the comparison needs, in one statement (JSON aggregates). */
function snapshot(db: Database, tenantId: string, rulesetId: string, version: number, crossRulesets: boolean) {
  const script = (alias: string) => sql`jsonb_build_object('rulesetId', ${sql.raw(alias)}.ruleset_id, 'name', ${sql.raw(alias)}.name, 'version', ${sql.raw(alias)}.version, 'script', ${sql.raw(alias)}.script)`;
  return db.execute<{ snapshot: Snapshot }>(sql`
    with subject as (
      select s.ruleset_id, rs.name, rs.target_kpi, s.version, s.script
      from ${rulesets} rs join ${ruleScripts} s on s.ruleset_id = rs.id and s.version = ${version} and s.compile_status = 'compiled'
      where rs.id = ${rulesetId}::uuid and rs.tenant_id = ${tenantId}::uuid),
    live as (
      select distinct d.version from ${ruleDeployments} d
      where d.ruleset_id = ${rulesetId}::uuid and d.status in ('active', 'canary') and d.version <> ${version}),
    previous as (
      select max(s.version) as version from ${ruleScripts} s
      where s.ruleset_id = ${rulesetId}::uuid and s.version < ${version} and s.compile_status = 'compiled' and not exists (select 1 from live)),
    peers as (
      select s.ruleset_id, subject.name, s.version, s.script from ${ruleScripts} s cross join subject
      where s.ruleset_id = ${rulesetId}::uuid and s.compile_status = 'compiled'
        and (s.version in (select version from live) or s.version = (select version from previous))),
    others as (
      select rs.id as ruleset_id, rs.name, d.version, s.script
      from ${rulesets} rs
      join ${ruleDeployments} d on d.ruleset_id = rs.id and d.status = 'active'
      join ${ruleScripts} s on s.ruleset_id = rs.id and s.version = d.version and s.compile_status = 'compiled'
      where ${crossRulesets} and rs.tenant_id = ${tenantId}::uuid and rs.id <> ${rulesetId}::uuid
        and rs.target_kpi = (select target_kpi from subject)),
    inputs as (
      select j.input_data from ${judgmentExecutions} j
      where j.tenant_id = ${tenantId}::uuid and j.input_data -> 'metrics' ? (select target_kpi from subject)
      order by j.created_at desc limit ${STORED_INPUTS})
    select jsonb_build_object(
      'subject', (select ${script("subject")} from subject),
      'peers', coalesce((select jsonb_agg(${script("peers")} order by peers.version) from peers), '[]'),
      'others', coalesce((select jsonb_agg(${script("others")} order by others.name) from others), '[]'),
      'inputs', coalesce((select jsonb_agg(input_data) from inputs), '[]')) as snapshot`);
}

interface Located extends Finding {
  rulesetId: string;
  otherRulesetId: string | null;
  version1: number;
  version2: number;
}

const programOf = (s: Script): Program | null => {
  const c = compile(s.script);
  return c.ok ? c.program : null;
};
const label = (s: Script) => `version ${s.version} of ruleset '${s.name}'`;

/** The output conflicts of the subject with its peers and the other rulesets, each pair in a canonical order (finding key). */
function findOutputConflicts(snap: Snapshot): Located[] {
  const subject = snap.subject;
  const program = subject && programOf(subject);
  if (!subject || !program) return [];
  const found: Located[] = [];
  for (const [peer, scope] of [...snap.peers.map((p) => [p, "versions"] as const), ...snap.others.map((o) => [o, "rulesets"] as const)]) {
    const other = programOf(peer);
    if (!other) continue;
    const finding = compareVersions({ program, label: label(subject) }, { program: other, label: label(peer) }, snap.inputs, scope);
    if (!finding) continue;
    const [a, b] = scope === "versions" ? [subject, peer].sort((x, y) => x.version - y.version) : [subject, peer].sort((x, y) => x.rulesetId.localeCompare(y.rulesetId));
    found.push({ ...finding, rulesetId: a!.rulesetId, otherRulesetId: scope === "rulesets" ? b!.rulesetId : null, version1: a!.version, version2: b!.version });
  }
  return found;
}

function insertFindings(db: Database, tenantId: string, found: Located[]) {
  const rows = JSON.stringify(found.map((f) => ({ r: f.rulesetId, o: f.otherRulesetId, v1: f.version1, v2: f.version2, t: f.conflictType, d: f.description, s: f.severity })));
  return db.execute(sql`
    insert into ${ruleConflicts} (tenant_id, ruleset_id, other_ruleset_id, rule_version_1, rule_version_2, conflict_type, description, severity)
    select ${tenantId}::uuid, f.r, f.o, f.v1, f.v2, f.t, f.d, f.s
    from jsonb_to_recordset(${rows}::jsonb) as f(r uuid, o uuid, v1 int, v2 int, t text, d text, s text)
    on conflict do nothing`);
}

/** The request id of the consumer's round trips for one event: tests and logs count them by it. */
export const conflictRequestId = (eventId: string) => `evt-${eventId}-${CONSUMER}`;

/** Detects output conflicts for one event; idempotent. Returns what it found. */
export async function detectOutputConflicts(event: RelayedEvent, env: Bindings): Promise<Located[]> {
  const payload = Payload.safeParse(event.payload);
  if (!payload.success) return [];
  const { tenantId, rulesetId, version } = payload.data;
  const { db } = backgroundDatabase(env, CONSUMER, conflictRequestId(event.eventId));
  const principal = servicePrincipal(CONSUMER);
  const [read] = await runAs(db, principal, [snapshot(db, tenantId, rulesetId, version, event.eventType === "RULE_DEPLOYMENT_CHANGED")] as const);
  const found = findOutputConflicts(read.rows[0]!.snapshot);
  if (found.length) await runAs(db, principal, [insertFindings(db, tenantId, found)] as const);
  return found;
}

export const conflictConsumer: EventConsumer = async (event, env) => {
  await detectOutputConflicts(event, env);
};
