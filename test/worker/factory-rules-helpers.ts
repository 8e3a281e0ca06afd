import { and, eq, sql } from "drizzle-orm";
import { expect } from "vitest";
import { auditLogs } from "../../src/factory/schema";
import { runAs } from "../../src/platform/db";
import type { ClaimedEvent } from "../../src/platform/relay";
import { as, db, seedTenant, seedUser, type FactoryUser } from "./factory-helpers";
import { call, roundTrips } from "./helpers";
import { SPEC_SCRIPT } from "./factory-rhai-helpers";

export const RULES = "/api/v1/factory/rules";

/** The §5.2 script with other thresholds (× the target for critical and warning). */
export const thresholds = (critical: number, warning: number) => SPEC_SCRIPT.replace("target * 1.5", `target * ${critical}`).replace("target * 1.2", `target * ${warning}`);

export const uniqueName = (prefix = "rules") => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

/** A ruleset of `user`'s tenant (201 asserted). */
export async function ruleset(user: FactoryUser, over: Record<string, unknown> = {}) {
  const res = await call("POST", `${RULES}/rulesets`, { token: user.bearer, body: { name: uniqueName(), targetKpi: "defect_rate", category: "quality", ...over } });
  expect(res.status).toBe(201);
  return res.body as { id: string; name: string; targetKpi: string };
}

/** A new version of the ruleset (201 asserted). */
export async function version(user: FactoryUser, rulesetId: string, script: string = SPEC_SCRIPT) {
  const res = await call("POST", `${RULES}/rulesets/${rulesetId}/scripts`, { token: user.bearer, body: { script } });
  expect(res.status).toBe(201);
  return res.body as { id: string; version: number; compileStatus: string; conflicts: { conflictType: string; severity: string }[] };
}

/** Requests a deployment (201 asserted). */
export async function deploy(user: FactoryUser, rulesetId: string, body: Record<string, unknown>) {
  const res = await call("POST", `${RULES}/rulesets/${rulesetId}/deploy`, { token: user.bearer, body: { changelog: "test", ...body } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; status: string; version: number; rollbackTo: number | null };
}

export async function move(user: FactoryUser, deploymentId: string, name: string) {
  return call("POST", `${RULES}/deployments/${deploymentId}/${name}`, { token: user.bearer });
}

/** The call made one Postgres round trip and no Redis one beyond the rate limit's. */
export async function expectOneRoundTrip(requestId: string) {
  expect((await roundTrips(requestId)).neon).toBe(1);
}

/** The tenant's audit rows of one resource, oldest first (read as the tenant's admin, who holds audit:read). */
export async function auditRows(admin: FactoryUser, resourceId: string) {
  const [rows] = await runAs(db, as(admin.tenantId, admin.userId), [
    db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.resourceId, resourceId), eq(auditLogs.tenantId, admin.tenantId)))
      .orderBy(auditLogs.createdAt),
  ] as const);
  return rows;
}

/** The outbox events written for one entity (rule_scripts or rule_deployments id), oldest first. */
export async function outboxFor(entityId: string): Promise<ClaimedEvent[]> {
  const { rows } = await db.execute<Omit<ClaimedEvent, "occurredAt"> & { occurredAt: string }>(sql`
    select id, system, event_type as "eventType", occurred_at as "occurredAt", actor_id as "actorId", entity_id as "entityId", payload
    from app.outbox_events where entity_id = ${entityId} order by occurred_at`);
  return rows.map((r) => ({ ...r, occurredAt: new Date(r.occurredAt) }));
}

/** A tenant with a ruleset of two compiled versions (§5.2 thresholds, then others), its admin and an approver. */
export async function rulesetWithVersions() {
  const { tenantId, admin } = await seedTenant();
  const approver = await seedUser(tenantId, "approver");
  const rs = await ruleset(admin);
  await version(admin, rs.id);
  await version(admin, rs.id, thresholds(1.3, 1.1));
  return { tenantId, admin, approver, rs };
}
