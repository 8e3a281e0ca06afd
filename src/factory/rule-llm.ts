import { askLlmForJson, type JsonAnswerSpec, type LlmCallRecord } from "./llm-client";
import type { LlmEndpoint } from "./llm-settings";
import type { LabeledSample } from "./rule-learning";

/**
 * The `llm` method of auto rules (docs/factory-learning.md): the configured LLM is shown labelled
 * training samples and asked for one Rhai function. Its answer is only text here; the caller
 * compiles and scores it like any candidate, so a wrong or hostile answer can at worst be a
 * candidate nobody can approve.
 */

/** How many training samples the prompt shows (the newest first): enough to see a threshold, small enough for any context window. */
export const PROMPT_SAMPLES = 60;
const MAX_SCRIPT = 16 * 1024;

const SYSTEM = `You write judgment rules for a manufacturing platform in the Rhai scripting language.`;

/** The answer: one JSON object holding the script, checked before anything compiles it. */
const RULE_ANSWER: JsonAnswerSpec<string> = {
  instructions: `Answer with one JSON object only: {"script": "<Rhai source>"}.
The script defines exactly one function, named llm_rule. Its parameters are top-level keys of the input
(for example metrics, context); it reads numbers such as metrics.defect_rate and returns a map
#{ result: "normal" | "warning" | "critical", confidence: <0..1 float>, explanation: "<why>" }.
Use only if/else, comparisons, && and ||, let and float literals (write 0.07, 1.0). No loops, no other functions.`,
  parse: (content) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(content);
    } catch {
      return { ok: false, problems: ["the answer is not JSON"] };
    }
    const script = parsed && typeof parsed === "object" ? (parsed as { script?: unknown }).script : undefined;
    if (typeof script !== "string" || !script.trim()) return { ok: false, problems: ["the answer has no script"] };
    if (script.length > MAX_SCRIPT) return { ok: false, problems: [`the script is longer than ${MAX_SCRIPT} characters`] };
    return { ok: true, value: script };
  },
};

export function rulePrompt(samples: readonly LabeledSample[], instructions: string | undefined): { system: string; user: string } {
  const shown = samples.slice(0, PROMPT_SAMPLES).map((s) => JSON.stringify({ input: s.input, label: s.label }));
  const user = [
    `Labelled samples (${shown.length} of ${samples.length}), one JSON per line:`,
    ...shown,
    "",
    "Write the rule that best reproduces these labels on new inputs.",
    ...(instructions ? ["", instructions] : []),
  ].join("\n");
  return { system: SYSTEM, user };
}

export type LlmRule = { ok: true; script: string; calls: LlmCallRecord[] } | { ok: false; error: string; calls: LlmCallRecord[] };

/**
 * Asks for a rule (askLlmForJson: the fallback model after a transport failure, one retry after an
 * answer without a usable script); `error` says why there is none, never the reply text.
 */
export async function askForRule(endpoint: LlmEndpoint, samples: readonly LabeledSample[], instructions?: string): Promise<LlmRule> {
  const outcome = await askLlmForJson(endpoint, rulePrompt(samples, instructions), RULE_ANSWER);
  if (outcome.status === "ok") return { ok: true, script: outcome.value, calls: outcome.calls };
  const error = outcome.status === "llm_error" ? outcome.error : `the LLM's answer has no usable script: ${outcome.problems.join("; ")}`;
  return { ok: false, error, calls: outcome.calls };
}
