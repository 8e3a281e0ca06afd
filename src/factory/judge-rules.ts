import { compile, trace, type Program } from "./rhai";
import { chooseVersion, type RoutableDeployment } from "./rule-routing";
import { buildRuleTrace, type RanVersion, type RuleTrace } from "./rule-trace";
import { verdictFromRule, type Verdict } from "./judgment-verdict";

/** A deployment as the judgment's batch read it: routing fields and its version's script. */
export interface DeployedScript extends RoutableDeployment {
  script: string;
  scriptHash: string;
}

export interface RuleOutcome {
  verdict: Verdict;
  ruleTrace: RuleTrace | null;
  ran: RanVersion | null;
}

/** Compiled scripts by script_hash: a version's text never changes, so an isolate compiles it once. */
const compiled = new Map<string, ReturnType<typeof compile>>();
const MAX_COMPILED = 256;

function programOf(d: DeployedScript): ReturnType<typeof compile> {
  let result = compiled.get(d.scriptHash);
  if (!result) {
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
    result = compile(d.script);
    compiled.set(d.scriptHash, result);
  }
  return result;
}

const unknown = (explanation: string): Verdict => ({ result: "unknown", confidence: null, explanation, recommendedActions: [] });

/**
 * Judges `inputData` by the ruleset's version for this input (rule-routing.ts: canary or active)
 * and returns the verdict with its §4.1 rule_trace. The entry is the script's first function; its
 * parameters take the input's top-level keys of the same names (§5.2: `metrics`, `context`). Nothing deployed, a script that
 * does not compile, or a run that fails (limits, type errors) judges `unknown`, saying why.
 */
export async function judgeByRules(
  ruleset: { id: string; name: string },
  deployments: readonly DeployedScript[],
  input: { inputData: Record<string, unknown>; inputHash: string; userGroups: readonly string[]; tenantId: string },
): Promise<RuleOutcome> {
  const choice = await chooseVersion(deployments, { inputData: input.inputData, inputHash: input.inputHash, userGroups: input.userGroups }, input.tenantId);
  if (!choice) return { verdict: unknown(`ruleset ${ruleset.name} has no active or canary deployment for this input`), ruleTrace: null, ran: null };
  const deployment = deployments.find((d) => d.id === choice.deploymentId)!;
  // The script's first function is the entry (docs/factory-rules.md), as the rule routes compile it.
  const entry = null;
  const ran: RanVersion = { rulesetId: ruleset.id, rulesetName: ruleset.name, version: choice.version, deploymentId: choice.deploymentId, deploymentStatus: choice.status, entry };
  const program = programOf(deployment);
  if (!program.ok) {
    const why = `version ${choice.version} does not compile: ${program.error.message} (line ${program.error.line}, column ${program.error.column})`;
    const verdict = unknown(why);
    return { verdict, ruleTrace: buildRuleTrace(ran, [], verdict, 0, why), ran };
  }
  const started = performance.now();
  const run = trace(program.program as Program, entry, input.inputData);
  const elapsed = performance.now() - started;
  if (!run.ok) {
    const why = `version ${choice.version} failed: ${run.error.message} (line ${run.error.line}, column ${run.error.column})`;
    const verdict = unknown(why);
    return { verdict, ruleTrace: buildRuleTrace(ran, run.trace, verdict, elapsed, why), ran };
  }
  const verdict = verdictFromRule(run.value);
  return { verdict, ruleTrace: buildRuleTrace(ran, run.trace, verdict, elapsed), ran };
}
