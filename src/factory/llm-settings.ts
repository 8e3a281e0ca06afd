import { z } from "zod";
import type { Config } from "../platform/config";

/**
 * Where a judgment's LLM call goes and with what parameters: the tenant's
 * `settings.llm_config` (spec 003 §2.1), else configuration (FACTORY_LLM_*), with the prompt
 * template's `model_config` (§7.1) choosing the model and sampling parameters.
 */

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** tenants.settings.llm_config. `base_url` and `api_key` are this project's additions to §2.1. */
export const TenantLlmConfig = z.object({
  base_url: z
    .url({ protocol: /^https?$/ })
    .refine((u) => new URL(u).protocol === "https:" || LOOPBACK.has(new URL(u).hostname), "must be https:// (http:// only on loopback)")
    .optional(),
  api_key: z.string().min(1).max(500).optional(),
  model: z.string().min(1).max(100).optional(),
  fallback_model: z.string().min(1).max(100).optional(),
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().min(1).max(128_000).optional(),
  timeout_ms: z.number().int().min(100).max(120_000).optional(),
});
export type TenantLlmConfig = z.infer<typeof TenantLlmConfig>;

/** prompt_templates.model_config (§7.1); `ab_weight` belongs to A/B (prompt-variant.ts). */
export const TemplateModelConfig = z.object({
  model: z.string().min(1).max(100).optional(),
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().min(1).max(128_000).optional(),
  top_p: z.number().min(0).max(1).optional(),
  frequency_penalty: z.number().min(-2).max(2).optional(),
  presence_penalty: z.number().min(-2).max(2).optional(),
  stop_sequences: z.array(z.string().min(1).max(100)).max(4).optional(),
  ab_weight: z.number().min(0).optional(),
});
export type TemplateModelConfig = z.infer<typeof TemplateModelConfig>;

/** The sampling parameters of a chat-completions request, in the protocol's names. */
export interface LlmParams {
  temperature?: number;
  max_tokens?: number;
  top_p?: number;
  frequency_penalty?: number;
  presence_penalty?: number;
  stop?: string[];
}

/**
 * A resolved endpoint. The key is held in a private field: it never shows in JSON.stringify,
 * console.log or a spread of this object, only in the Authorization header.
 */
export class LlmEndpoint {
  readonly #apiKey: string | undefined;

  constructor(
    readonly baseUrl: string,
    apiKey: string | undefined,
    readonly model: string,
    readonly fallbackModel: string | undefined,
    readonly timeoutMs: number,
    readonly params: LlmParams,
    /** Whose endpoint it is: a tenant's own, or the configured one. */
    readonly source: "tenant" | "config",
  ) {
    this.#apiKey = apiKey;
  }

  get chatCompletionsUrl(): string {
    return `${this.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  }

  headers(): Record<string, string> {
    return { "Content-Type": "application/json", ...(this.#apiKey ? { Authorization: `Bearer ${this.#apiKey}` } : {}) };
  }

  /** Replaces the key wherever it appears, for any text that might leave this module. */
  redact(text: string): string {
    return this.#apiKey ? text.split(this.#apiKey).join("[redacted]") : text;
  }
}

/** Why no endpoint could be resolved; `field` names the setting, never its value. */
export class LlmConfigError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

export type LlmConfigKeys = Pick<
  Config,
  "FACTORY_LLM_BASE_URL" | "FACTORY_LLM_API_KEY" | "FACTORY_LLM_MODEL" | "FACTORY_LLM_FALLBACK_MODEL" | "FACTORY_LLM_TIMEOUT_MS"
>;

function parsed<T extends z.ZodType>(schema: T, value: unknown, field: string): z.infer<T> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new LlmConfigError([field, ...(issue?.path ?? []).map(String)].join("."), issue?.message ?? "invalid");
}

/**
 * The endpoint for one call. Model: template, else tenant, else FACTORY_LLM_MODEL. A tenant with
 * its own `base_url` uses its own `api_key` (or none): the configured key only ever goes to the
 * configured URL.
 */
export function resolveLlmEndpoint(input: { tenantSettings: unknown; modelConfig: unknown; config: LlmConfigKeys }): LlmEndpoint {
  const settings = input.tenantSettings && typeof input.tenantSettings === "object" ? (input.tenantSettings as Record<string, unknown>) : {};
  const tenant = parsed(TenantLlmConfig, settings.llm_config, "settings.llm_config");
  const template = parsed(TemplateModelConfig, input.modelConfig, "model_config");
  const { config } = input;
  const baseUrl = tenant.base_url ?? config.FACTORY_LLM_BASE_URL;
  if (!baseUrl) throw new LlmConfigError("FACTORY_LLM_BASE_URL", "no LLM endpoint: set it, or settings.llm_config.base_url for the tenant");
  const params: LlmParams = {
    temperature: template.temperature ?? tenant.temperature,
    max_tokens: template.max_tokens ?? tenant.max_tokens,
    top_p: template.top_p,
    frequency_penalty: template.frequency_penalty,
    presence_penalty: template.presence_penalty,
    stop: template.stop_sequences,
  };
  return new LlmEndpoint(
    baseUrl,
    tenant.base_url ? tenant.api_key : config.FACTORY_LLM_API_KEY,
    template.model ?? tenant.model ?? config.FACTORY_LLM_MODEL,
    tenant.fallback_model ?? config.FACTORY_LLM_FALLBACK_MODEL,
    tenant.timeout_ms ?? config.FACTORY_LLM_TIMEOUT_MS,
    params,
    tenant.base_url ? "tenant" : "config",
  );
}
