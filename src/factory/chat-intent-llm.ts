import { z } from "zod";
import type { Config } from "../platform/config";
import { compact, INTENTS, KPIS, type Classification, type Slots } from "./chat-intents";
import { isCalendarDate } from "./chat-dates";
import { askLlmForJson, type JsonAnswerSpec, type LlmCallRecord, type LlmMetadata } from "./llm-client";
import { LlmConfigError, resolveLlmEndpoint } from "./llm-settings";

/**
 * Intent classification by the configured LLM (llm-client.ts: timeout, fallback model, one
 * retry on an invalid answer). The answer is checked against the same intents and slots the
 * rules produce; when no valid answer comes, the caller falls back to the rules.
 */

/** The marker line the local test LLM recognises intent prompts by (test/setup/openai-server.ts). */
export const INTENT_TASK = "Task: chat-intent-classification";

const IsoDay = z.string().refine(isCalendarDate, "must be a date YYYY-MM-DD");
const LlmIntent = z.object({
  intent: z.enum(INTENTS),
  confidence: z.number().min(0).max(1),
  slots: z
    .object({
      line_code: z.string().trim().min(1).max(20).optional(),
      date_range: z.object({ start: IsoDay, end: IsoDay }).refine((r) => r.start <= r.end, "start must not be after end").optional(),
      kpi: z.enum(KPIS).optional(),
      threshold: z.number().finite().optional(),
      value: z.number().finite().optional(),
      workflow: z.string().trim().min(1).max(200).optional(),
      rule: z.string().trim().min(1).max(200).optional(),
    })
    .default({}),
});

const INSTRUCTIONS =
  `Answer with one JSON object only: {"intent": ${INTENTS.map((i) => `"${i}"`).join("|")}, "confidence": number 0..1, ` +
  `"slots": {"line_code"?: "L01", "date_range"?: {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}, "kpi"?: ${KPIS.map((k) => `"${k}"`).join("|")}, ` +
  `"threshold"?: number, "value"?: number, "workflow"?: string, "rule"?: string}}. Rates (defect_rate, oee) are fractions: 7.3% is 0.073.`;

const ANSWER: JsonAnswerSpec<z.infer<typeof LlmIntent>> = {
  instructions: INSTRUCTIONS,
  parse: (content) => {
    let value: unknown;
    try {
      value = JSON.parse(/^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/.exec(content)?.[1] ?? content);
    } catch {
      return { ok: false, problems: ["the answer is not JSON"] };
    }
    const parsed = LlmIntent.safeParse(value);
    return parsed.success ? { ok: true, value: parsed.data } : { ok: false, problems: parsed.error.issues.slice(0, 10).map((i) => `/${i.path.join("/")}: ${i.message}`) };
  },
};

const systemPrompt = (today: string, zone: string) =>
  [
    INTENT_TASK,
    "You read one message a production-line operator wrote to a factory assistant, in Korean or English, and say what they want.",
    `Today is ${today} (time zone ${zone}); resolve relative dates (어제, 오늘, 지난주, yesterday, last week, ...) to dates. Weeks start on Monday.`,
    "Intents: query_defect_rate (a line's defect rate), check_oee (OEE), query_kpi (production_qty or cycle_time_avg), list_critical_judgments (critical judgments of a period),",
    "run_judgment (judge a measured value: put it in value), run_workflow (start a workflow: its name in workflow), explain_rule (a ruleset's name in rule), unknown.",
  ].join("\n");

export interface LlmClassification {
  classification: Classification | null;
  calls: LlmCallRecord[];
  metadata: (LlmMetadata & { status: string }) | null;
  /** Why the LLM's answer was not used (no endpoint, no answer, invalid answer). */
  fellBack: string | null;
}

/** Asks the LLM; the tenant's llm_config may name its own endpoint and model. */
export async function classifyByLlm(message: string, context: { today: string; zone: string; settings: unknown; config: Config; lang: "ko" | "en" }): Promise<LlmClassification> {
  let endpoint;
  try {
    endpoint = resolveLlmEndpoint({ tenantSettings: context.settings, modelConfig: {}, config: context.config });
  } catch (err) {
    if (err instanceof LlmConfigError) return { classification: null, calls: [], metadata: null, fellBack: `no usable LLM endpoint: ${err.field}` };
    throw err;
  }
  const outcome = await askLlmForJson(endpoint, { system: systemPrompt(context.today, context.zone), user: message }, ANSWER);
  const metadata = { ...outcome.metadata, status: outcome.status };
  if (outcome.status !== "ok") {
    const why = outcome.status === "llm_error" ? `the LLM gave no answer: ${outcome.error}` : `the LLM's answers were invalid: ${outcome.problems.join("; ")}`;
    return { classification: null, calls: outcome.calls, metadata, fellBack: why };
  }
  const { intent, confidence, slots } = outcome.value;
  const line = slots.line_code?.toUpperCase();
  const classification: Classification = { intent, confidence, slots: compact({ ...slots, line_code: line } as Slots), lang: context.lang, by: "llm" };
  return { classification, calls: outcome.calls, metadata, fellBack: null };
}
