import { z } from "@hono/zod-openapi";
import type { LlmJudgment } from "./llm-answer";
import { JUDGMENT_RESULTS } from "./schema";

export type JudgmentResult = (typeof JUDGMENT_RESULTS)[number];

/** A §4.1 recommended action: `action_type` and whatever that type carries (priority, target, message, workflow_id, …). */
export const RecommendedAction = z
  .object({ action_type: z.string().min(1).max(50) })
  .catchall(z.unknown())
  .openapi("FactoryRecommendedAction");
export type RecommendedAction = z.infer<typeof RecommendedAction>;

/** What a method concluded, before it is stored. */
export interface Verdict {
  result: JudgmentResult;
  confidence: number | null;
  explanation: string | null;
  recommendedActions: RecommendedAction[];
}

/** How urgent an action a rule names is: the verdict's severity decides. */
const PRIORITY: Record<JudgmentResult, string> = { critical: "high", warning: "medium", normal: "low", unknown: "medium" };

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * A rule's action as §4.1 stores it. §5.2's scripts name actions (`"alert_supervisor"`): a name
 * becomes an alert carrying it, never executed automatically; a map with an `action_type` is kept
 * as written; anything else is dropped.
 */
function actionOf(value: unknown, result: JudgmentResult): RecommendedAction | null {
  if (typeof value === "string" && value.length > 0) return { action_type: "alert", priority: PRIORITY[result], message: value, auto_execute: false };
  const parsed = RecommendedAction.safeParse(value);
  return parsed.success ? parsed.data : null;
}

const unknownVerdict = (explanation: string): Verdict => ({ result: "unknown", confidence: null, explanation, recommendedActions: [] });

/**
 * The verdict of a rule's return value (§5.2: `#{result, confidence, explanation, actions}`). A
 * value of another shape, a result outside normal/warning/critical/unknown or a confidence outside
 * [0, 1] is `unknown`, saying what the rule returned: a rule can fail to decide, never decide wrong.
 */
export function verdictFromRule(value: unknown): Verdict {
  if (!isRecord(value)) return unknownVerdict(`the rule returned ${describe(value)}, not a map with a result`);
  const result = value.result;
  if (typeof result !== "string" || !(JUDGMENT_RESULTS as readonly string[]).includes(result)) {
    return unknownVerdict(`the rule's result ${describe(result)} is not one of ${JUDGMENT_RESULTS.join(", ")}`);
  }
  const confidence = value.confidence;
  if (confidence !== undefined && confidence !== null && !(typeof confidence === "number" && confidence >= 0 && confidence <= 1)) {
    return unknownVerdict(`the rule's confidence ${describe(confidence)} is not a number between 0 and 1`);
  }
  const judged = result as JudgmentResult;
  const actions = Array.isArray(value.actions) ? value.actions : [];
  return {
    result: judged,
    confidence: typeof confidence === "number" ? confidence : null,
    explanation: typeof value.explanation === "string" ? value.explanation : null,
    recommendedActions: actions.map((a) => actionOf(a, judged)).filter((a): a is RecommendedAction => a !== null),
  };
}

function describe(value: unknown): string {
  if (value === undefined || value === null) return "()";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The verdict of an LLM answer that passed the judgment schema (llm-answer.ts). */
export const verdictFromLlm = (answer: LlmJudgment): Verdict => ({
  result: answer.result,
  confidence: answer.confidence,
  explanation: answer.explanation,
  recommendedActions: answer.recommended_actions,
});

/** tenants.settings.hybrid_confidence_threshold when the tenant sets none. */
export const DEFAULT_HYBRID_THRESHOLD = 0.8;

/**
 * Hybrid (docs/factory-judgments.md): the LLM is asked when the rules could not decide (`unknown`,
 * or no version deployed) or decided with a confidence below the tenant's threshold; a rule
 * without a confidence counts as certain. Returns why the LLM is asked, or null when it is not.
 */
export function llmNeeded(rule: Verdict, threshold: number): string | null {
  if (rule.result === "unknown") return "the rules judged the input unknown";
  if (rule.confidence !== null && rule.confidence < threshold) return `rule confidence ${rule.confidence} is below the threshold ${threshold}`;
  return null;
}

/**
 * The hybrid verdict: the LLM's when it answered (its result, confidence and explanation; the
 * rules' actions first, then the LLM's), else the rules' own (the LLM was not asked, or failed).
 */
export function combineVerdicts(rule: Verdict, llm: Verdict | null): Verdict {
  if (!llm) return rule;
  return { ...llm, recommendedActions: [...rule.recommendedActions, ...llm.recommendedActions] };
}
