import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { deploymentRow, moveStatements } from "../deployment-sql";
import { ruleDeployments as D, rulesets } from "../schema";
import { NodeError } from "../workflow-errors";
import { nodeConfig } from "./config";
import { asJson, authorizedRun, nodeActor, nodeErrorOf } from "./node-support";
import type { NodeHandler } from "./types";

type Live = { id: string; version: number; status: string; rollbackTo: number | null };

/**
 * The deployment to roll back: the newest canary when there is one (the latest change, leaving
 * the active version), else the active deployment (its rollback_to becomes active again). With
 * `to_version`, the one whose rollback leaves that version active; none is a VALIDATION_ERROR.
 */
function targetOf(live: Live[], rulesetId: string, toVersion: number | undefined): Live {
  const canary = live.find((d) => d.status === "canary");
  const active = live.find((d) => d.status === "active");
  const leaves = (d: Live) => (d.status === "canary" ? (active?.version ?? null) : d.rollbackTo);
  const candidates = [canary, active].filter((d): d is Live => d !== undefined);
  if (!candidates.length) throw new NodeError("VALIDATION_ERROR", `ruleset ${rulesetId} has no active or canary deployment to roll back`, { rulesetId });
  if (toVersion === undefined) return candidates[0]!;
  const match = candidates.find((d) => leaves(d) === toVersion);
  if (match) return match;
  const would = candidates.map((d) => `rolling back ${d.status} version ${d.version} leaves ${leaves(d) ?? "no version"} active`).join("; ");
  throw new NodeError("VALIDATION_ERROR", `no rollback of ruleset ${rulesetId} makes version ${toVersion} active: ${would}`, { rulesetId, toVersion });
}

/**
 * ROLLBACK (docs/factory-workflows.md): part 1's rollback move (POST /rules/deployments/{id}/rollback:
 * permission deployment:rollback, audited `rollback`, the restored version audited `deploy`) as the
 * instance's actor. Two round trips: the ruleset's live deployments, then the move, which is
 * conditional on the state read (a deployment moved in between is a VALIDATION_ERROR, not a
 * second rollback). Result: the rolled-back deployment row.
 */
export const rollbackNode: NodeHandler = async (ctx, raw) => {
  const config = nodeConfig("ROLLBACK", raw);
  const { db } = ctx;
  try {
    const actor = nodeActor(ctx);
    // A read (deployment:read, as GET /rules/deployments); the move's batch checks deployment:rollback.
    const [found, live] = await authorizedRun(ctx, "deployment:read", [
      db.select({ id: rulesets.id }).from(rulesets).where(eq(rulesets.id, config.ruleset_id)),
      db
        .select({ id: D.id, version: D.version, status: D.status, rollbackTo: D.rollbackTo })
        .from(D)
        .where(and(eq(D.rulesetId, config.ruleset_id), inArray(D.status, ["canary", "active"])))
        .orderBy(desc(sql`coalesce(${D.deployedAt}, ${D.createdAt})`), desc(D.id)),
    ] as const);
    if (!found[0]) throw new NodeError("NOT_FOUND", `ruleset ${config.ruleset_id} was not found`, { rulesetId: config.ruleset_id });
    const target = targetOf(live, config.ruleset_id, config.to_version);
    const { statements, moveAt } = moveStatements(db, actor, target.id, "rollback");
    const results = (await authorizedRun(ctx, "deployment:rollback", statements)) as unknown[];
    const row = (results.at(-1) as Awaited<ReturnType<typeof deploymentRow>>)[0];
    if (!(results[moveAt] as { rows: unknown[] }).rows.length) {
      throw new NodeError("VALIDATION_ERROR", `deployment ${target.id} is ${row?.status ?? "gone"} now: it moved while the rollback was prepared`, { deploymentId: target.id, currentStatus: row?.status ?? null });
    }
    const { otherCanary: _, ...deployment } = row!;
    return asJson(deployment);
  } catch (err) {
    throw nodeErrorOf(err);
  }
};
