import { loadConfig } from "../../platform/config";
import { createRedis } from "../../platform/redis";
import { judge, type JudgmentCaller } from "../judgment-execute";
import { nodeRequestId } from "../workflow-context";
import { nodeConfig } from "./config";
import { actorOf, asJson, authorizedRun, nodeErrorOf, untilTimeout } from "./node-support";
import type { NodeHandler } from "./types";

/**
 * JUDGMENT (docs/factory-workflows.md): part 1's judgment service in-process, as the instance's
 * actor with judgment:execute: the same cache, quota, rules, LLM and records as POST
 * /judgments/execute (same round trips), with source `workflow`, the workflow and instance
 * recorded and the cache scoped by the workflow's id. Result: the judgment as that route answers it.
 */
export const judgmentNode: NodeHandler = async (ctx, raw) => {
  const config = nodeConfig("JUDGMENT", raw);
  const settings = loadConfig(ctx.env);
  const caller: JudgmentCaller = {
    db: ctx.db,
    redis: createRedis(settings, nodeRequestId(ctx.instanceId, ctx.nodeId)),
    config: settings,
    userId: actorOf(ctx),
    tenantId: ctx.tenantId,
    traceId: ctx.traceId,
    permission: "judgment:execute",
    run: (statements) => authorizedRun(ctx, "judgment:execute", statements),
  };
  try {
    const row = await untilTimeout(
      ctx,
      judge(caller, {
        inputData: ctx.resolve(config.input_mapping) as Record<string, unknown>,
        rulesetId: config.ruleset_id,
        method: config.method,
        workflowId: ctx.workflowId,
        workflowInstanceId: ctx.instanceId,
        source: "workflow",
      }),
    );
    return asJson(row);
  } catch (err) {
    throw nodeErrorOf(err);
  }
};
