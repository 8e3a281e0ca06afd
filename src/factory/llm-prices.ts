/**
 * USD per 1M tokens, input (prompt) and output (completion), for llm_calls.cost_estimate_usd.
 * OpenAI's list prices as of 2026-11 for standard (not batch, not cached-input) requests; a model
 * not listed gets no estimate (null), never a guess. Update together with docs/factory-llm.md.
 */
export const LLM_PRICES_PER_MILLION: Readonly<Record<string, { input: number; output: number }>> = {
  "gpt-4o": { input: 2.5, output: 10 },
  "gpt-4o-mini": { input: 0.15, output: 0.6 },
  "gpt-4.1": { input: 2, output: 8 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, output: 0.4 },
  "o4-mini": { input: 1.1, output: 4.4 },
};

// Dated snapshots (gpt-4o-2024-08-06) cost what their family costs.
const SNAPSHOT = /-\d{4}-\d{2}-\d{2}$/;

/** The estimate in USD rounded to numeric(10,6), or null for a model without a listed price. */
export function llmCostUsd(model: string, promptTokens: number, completionTokens: number): number | null {
  const family = [model, model.replace(SNAPSHOT, "")].find((name) => Object.hasOwn(LLM_PRICES_PER_MILLION, name));
  const price = family === undefined ? undefined : LLM_PRICES_PER_MILLION[family];
  if (!price) return null;
  return Math.round(promptTokens * price.input + completionTokens * price.output) / 1e6;
}
