import type { TraceEntry } from "./rhai";
import type { Verdict } from "./judgment-verdict";

/** Which version ran, for rule_trace and the judgment's record. */
export interface RanVersion {
  rulesetId: string;
  rulesetName: string;
  version: number;
  deploymentId: string;
  deploymentStatus: "active" | "canary";
  entry: string | null;
}

/**
 * §4.1 rule_trace from the interpreter's branch decisions. A "rule" is a branch of the script:
 * `rule_id` its position (`L6:C3`, stable for one version), `rule_name` the function it is in,
 * `condition` its source text (`else` for an else). matched_rules are the branches whose bodies
 * ran; each carries the run's verdict and its time (a run's branches are not timed one by one).
 * total_rules_evaluated counts the conditions the run evaluated. Additions: deployment_id and
 * deployment_status (canary or active), and error when the run failed.
 */
export function buildRuleTrace(ran: RanVersion, trace: readonly TraceEntry[], verdict: Verdict, elapsedMs: number, error?: string) {
  const ms = Math.round(elapsedMs);
  return {
    ruleset_id: ran.rulesetId,
    ruleset_name: ran.rulesetName,
    ruleset_version: ran.version,
    deployment_id: ran.deploymentId,
    deployment_status: ran.deploymentStatus,
    matched_rules: trace
      .filter((t) => t.taken && t.reached)
      .map((t) => ({
        rule_id: t.branch,
        rule_name: t.fn ?? ran.entry ?? "main",
        condition: t.condition,
        result: verdict.result,
        confidence: verdict.confidence,
        execution_time_ms: ms,
      })),
    total_rules_evaluated: trace.filter((t) => t.reached && t.kind !== "else" && t.kind !== "default").length,
    execution_time_ms: ms,
    ...(error ? { error } : {}),
  };
}

export type RuleTrace = ReturnType<typeof buildRuleTrace>;
