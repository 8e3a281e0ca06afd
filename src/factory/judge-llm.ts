import type { Config } from "../platform/config";
import { ApiError, fieldError } from "../platform/problem";
import { verdictFromLlm, type Verdict } from "./judgment-verdict";
import { judgeWithLlm, type LlmCallRecord, type LlmMetadata, type LlmPrompt } from "./llm-client";
import { LlmConfigError, resolveLlmEndpoint } from "./llm-settings";
import { PromptRenderError, renderTemplate, type TemplateVariables } from "./prompt-render";
import { abWeightOf, assignAbGroup, pickLocaleBody } from "./prompt-variant";

/** An active judgment template's version with one of its bodies, as the judgment's batch read it. */
export interface PromptRow {
  id: string;
  name: string;
  version: number;
  modelConfig: Record<string, unknown>;
  variables: unknown;
  aBTestGroup: string | null;
  updatedAt: Date;
  locale: string;
  systemPrompt: string;
  userPromptTemplate: string;
  fewShotExamples: unknown;
}

/** The group of a version that takes part in no A/B test. */
const NO_GROUP = "control";

export interface ChosenPrompt {
  row: PromptRow;
  group: string;
  localesTried: string[];
}

/**
 * The prompt a judgment uses (docs/factory-judgments.md, "LLM"): among the tenant's active
 * judgment templates, the name `settings.judgment_prompt` gives, else the most recently changed
 * one; among that name's active versions (one per A/B group), the group assigned to this input
 * (prompt-variant.ts: a hash of tenant, name and input hash, weighted by model_config.ab_weight);
 * its body in the requested locale, else the tenant's, else ko-KR. Null when the tenant has none.
 */
export async function chooseJudgmentPrompt(rows: readonly PromptRow[], tenant: { id: string; settings: Record<string, unknown> }, subjectKey: string, locale?: string): Promise<ChosenPrompt | null> {
  if (rows.length === 0) return null;
  const named = typeof tenant.settings.judgment_prompt === "string" ? tenant.settings.judgment_prompt : null;
  const newest = [...rows].sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime() || (a.name < b.name ? -1 : 1))[0]!;
  const name = named && rows.some((r) => r.name === named) ? named : newest.name;
  const versions = new Map<string, { group: string; weight: number; id: string }>();
  for (const r of rows) if (r.name === name) versions.set(r.id, { id: r.id, group: r.aBTestGroup ?? NO_GROUP, weight: abWeightOf(r.modelConfig) });
  const picked = await assignAbGroup({ tenantId: tenant.id, templateName: name, subjectKey }, [...versions.values()]);
  if (!picked) return null;
  const tenantLocale = typeof tenant.settings.locale === "string" ? tenant.settings.locale : null;
  const bodies = rows.filter((r) => r.id === picked.id);
  const { body, tried } = pickLocaleBody(bodies, locale, tenantLocale);
  if (!body) throw new ApiError(409, "prompt_body_missing", `prompt template ${name} version ${bodies[0]!.version} has no body in ${tried.join(", ")}`);
  return { row: body, group: picked.group, localesTried: tried };
}

const fewShotOf = (value: unknown): LlmPrompt["fewShot"] =>
  Array.isArray(value)
    ? value.filter((e): e is { user: string; assistant: string } => typeof e?.user === "string" && typeof e?.assistant === "string").map((e) => ({ user: e.user, assistant: e.assistant }))
    : [];

/** Renders the chosen body; a required variable the request did not give is a 422 naming it. */
export function renderJudgmentPrompt(chosen: ChosenPrompt, data: Record<string, unknown>): LlmPrompt {
  const variables = (chosen.row.variables ?? {}) as TemplateVariables;
  try {
    return {
      system: renderTemplate(chosen.row.systemPrompt, data, { defaults: variables.defaults }),
      user: renderTemplate(chosen.row.userPromptTemplate, data, variables),
      fewShot: fewShotOf(chosen.row.fewShotExamples),
    };
  } catch (err) {
    if (err instanceof PromptRenderError && (err.kind === "missing_variable" || err.kind === "not_a_list")) {
      const path = err.variable?.startsWith("input_data.") ? `json.inputData.${err.variable.slice("input_data.".length)}` : `json.promptVariables.${err.variable}`;
      throw fieldError(path, `${err.message} (prompt template ${chosen.row.name} version ${chosen.row.version})`);
    }
    if (err instanceof PromptRenderError) throw new ApiError(409, "prompt_unrenderable", `prompt template ${chosen.row.name} version ${chosen.row.version}: ${err.message}`);
    throw err;
  }
}

export interface LlmOutcome {
  verdict: Verdict;
  evidence: Record<string, unknown> | null;
  metadata: LlmMetadata & { status: "ok" | "validation_error" | "llm_error"; prompt_name: string; prompt_version: number; ab_group: string; locale: string };
  calls: LlmCallRecord[];
  /** The LLM gave no valid answer: the judgment is not cached. */
  failed: boolean;
}

/** Asks the LLM (llm-client.ts: fallback model, timeout, one retry when invalid) and turns its outcome into a verdict. */
export async function judgeByLlm(chosen: ChosenPrompt, prompt: LlmPrompt, tenantSettings: unknown, config: Config): Promise<LlmOutcome> {
  let endpoint;
  try {
    endpoint = resolveLlmEndpoint({ tenantSettings, modelConfig: chosen.row.modelConfig, config });
  } catch (err) {
    if (err instanceof LlmConfigError) throw new ApiError(503, "llm_not_configured", `no usable LLM endpoint: ${err.field} ${err.reason}`, { field: err.field });
    throw err;
  }
  const outcome = await judgeWithLlm(endpoint, prompt, { promptTemplateId: chosen.row.id });
  const about = { prompt_name: chosen.row.name, prompt_version: chosen.row.version, ab_group: chosen.group, locale: chosen.row.locale };
  if (outcome.status === "ok") {
    return { verdict: verdictFromLlm(outcome.judgment), evidence: outcome.judgment.evidence, metadata: { ...outcome.metadata, status: "ok", ...about }, calls: outcome.calls, failed: false };
  }
  const explanation =
    outcome.status === "validation_error"
      ? `the LLM's answers failed the judgment schema: ${outcome.problems.join("; ")}`
      : `the LLM gave no answer: ${outcome.error}`;
  return {
    verdict: { result: "unknown", confidence: null, explanation, recommendedActions: [] },
    evidence: null,
    metadata: { ...outcome.metadata, status: outcome.status, ...about },
    calls: outcome.calls,
    failed: true,
  };
}
