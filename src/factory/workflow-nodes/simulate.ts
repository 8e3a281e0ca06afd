import { and, desc, eq, gte, sql } from "drizzle-orm";
import { verdictFromRule, type JudgmentResult } from "../judgment-verdict";
import { compile, run, type Program } from "../rhai";
import { judgmentExecutions as J, ruleDeployments as D, rulesets, ruleScripts as S } from "../schema";
import { NodeError } from "../workflow-errors";
import { nodeConfig } from "./config";
import { authorizedRun, nodeErrorOf } from "./node-support";
import type { NodeHandler } from "./types";

/** Stored inputs a simulation reads without sample.limit (the DSL bounds the limit at 1000). */
const DEFAULT_SAMPLE = 100;
const MAX_EXAMPLES = 10;

type Input = Record<string, unknown>;

/** A version's result on one input, as a judgment would record it: a run that fails judges `unknown`. */
function resultOf(program: Program, input: Input): JudgmentResult {
  const r = run(program, null, input);
  return r.ok ? verdictFromRule(r.value).result : "unknown";
}

function programOf(version: number, script: string): Program {
  const compiled = compile(script);
  if (compiled.ok) return compiled.program;
  throw new NodeError("VALIDATION_ERROR", `version ${version} does not compile: ${compiled.error.message} (line ${compiled.error.line})`, { version });
}

/**
 * SIMULATE (docs/factory-workflows.md): a version of a ruleset evaluated with the Rhai interpreter
 * over the input_data of the ruleset's stored judgments (those its rules judged, not cache hits;
 * newest first, at most `sample.limit` ≤ 1000, none before `sample.since`), beside the active
 * version on the same inputs. One round trip that only reads (permission rule:read); nothing is
 * written. Result: { version, active_version, evaluated, distribution, changed_vs_active, examples }.
 */
export const simulateNode: NodeHandler = async (ctx, raw) => {
  const config = nodeConfig("SIMULATE", raw);
  const { db } = ctx;
  const rulesetId = config.ruleset_id;
  const limit = config.sample?.limit ?? DEFAULT_SAMPLE;
  try {
    const [found, versions, active, inputs] = await authorizedRun(ctx, "rule:read", [
      db.select({ id: rulesets.id }).from(rulesets).where(eq(rulesets.id, rulesetId)),
      db.select({ compileStatus: S.compileStatus, script: S.script }).from(S).where(and(eq(S.rulesetId, rulesetId), eq(S.version, config.version))),
      db
        .select({ version: D.version, script: S.script })
        .from(D)
        .innerJoin(S, and(eq(S.rulesetId, D.rulesetId), eq(S.version, D.version)))
        .where(and(eq(D.rulesetId, rulesetId), eq(D.status, "active")))
        .orderBy(desc(D.deployedAt))
        .limit(1),
      db
        .select({ id: J.id, inputData: J.inputData, createdAt: J.createdAt })
        .from(J)
        .where(and(sql`${J.ruleTrace} ->> 'ruleset_id' = ${rulesetId}`, eq(J.cacheHit, false), config.sample?.since ? gte(J.createdAt, new Date(config.sample.since)) : undefined))
        .orderBy(desc(J.createdAt), desc(J.id))
        .limit(limit),
    ] as const);
    if (!found[0]) throw new NodeError("NOT_FOUND", `ruleset ${rulesetId} was not found`, { rulesetId });
    const target = versions[0];
    if (!target) throw new NodeError("NOT_FOUND", `version ${config.version} of ruleset ${rulesetId} was not found`, { rulesetId, version: config.version });
    if (target.compileStatus !== "compiled") throw new NodeError("VALIDATION_ERROR", `version ${config.version} of ruleset ${rulesetId} is ${target.compileStatus}, not compiled`, { compileStatus: target.compileStatus });
    const program = programOf(config.version, target.script);
    const current = active[0] ? programOf(active[0].version, active[0].script) : null;

    const distribution: Record<JudgmentResult, number> = { critical: 0, warning: 0, normal: 0, unknown: 0 };
    let changed = 0;
    const examples: Record<string, unknown>[] = [];
    for (const [i, row] of inputs.entries()) {
      if (i % 50 === 0 && ctx.signal.aborted) throw new NodeError("TIMEOUT", `node ${ctx.nodeId} ran past its timeout after ${i} of ${inputs.length} inputs`);
      const input = row.inputData as Input;
      const result = resultOf(program, input);
      distribution[result]++;
      const activeResult = current ? resultOf(current, input) : null;
      const differs = current !== null && activeResult !== result;
      if (differs) changed++;
      // Inputs the versions judge differently first; without an active version, the first inputs.
      if (examples.length < MAX_EXAMPLES && (differs || current === null)) {
        examples.push({ judgment_id: row.id, created_at: row.createdAt.toISOString(), input_data: input, result, active_result: activeResult });
      }
    }
    return {
      version: config.version,
      active_version: active[0]?.version ?? null,
      evaluated: inputs.length,
      distribution,
      changed_vs_active: current ? changed : null,
      examples,
    };
  } catch (err) {
    throw nodeErrorOf(err);
  }
};
