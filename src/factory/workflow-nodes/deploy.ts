import { changedRows } from "../audit";
import { insertDeployment } from "../deployment-sql";
import { ruleDeployments } from "../schema";
import { NodeError } from "../workflow-errors";
import { nodeConfig } from "./config";
import { asJson, authorizedRun, nodeActor, nodeErrorOf } from "./node-support";
import type { NodeHandler } from "./types";

/**
 * DEPLOY (docs/factory-workflows.md): requests a deployment of a compiled version through part 1's
 * deployment service, as POST /rules/rulesets/{id}/deploy does (permission deployment:create, one
 * round trip, audited `deploy`, the RULE_DEPLOYMENT_CHANGED event in the outbox), requested by the
 * instance's actor: a draft another user approves (four eyes). Result: the deployment row.
 */
export const deployNode: NodeHandler = async (ctx, raw) => {
  const config = nodeConfig("DEPLOY", raw);
  const request = {
    id: crypto.randomUUID(),
    rulesetId: config.ruleset_id,
    version: config.version,
    changelog: config.changelog ?? `requested by node ${ctx.nodeId} of workflow ${ctx.workflowId} (instance ${ctx.instanceId})`,
    canaryPct: config.canary_pct ?? null,
    canaryTargetFilter: null,
    rollbackTo: null,
  };
  try {
    const [inserted, , state] = await authorizedRun(ctx, "deployment:create", insertDeployment(ctx.db, nodeActor(ctx), request));
    const row = changedRows(ruleDeployments, inserted)[0];
    if (row) return asJson(row);
    const s = state[0]!;
    if (!s.ruleset) throw new NodeError("NOT_FOUND", `ruleset ${config.ruleset_id} was not found`, { rulesetId: config.ruleset_id });
    if (s.compileStatus === null) throw new NodeError("NOT_FOUND", `version ${config.version} of ruleset ${config.ruleset_id} was not found`, { rulesetId: config.ruleset_id, version: config.version });
    throw new NodeError("VALIDATION_ERROR", `version ${config.version} of ruleset ${config.ruleset_id} is ${s.compileStatus}, not compiled: only a compiled version can be deployed`, { compileStatus: s.compileStatus });
  } catch (err) {
    throw nodeErrorOf(err);
  }
};
