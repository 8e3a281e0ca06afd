import { describe, expect, it } from "vitest";
import { judgeWithLlm, type LlmPrompt } from "../../src/factory/llm-client";
import { llmCostUsd } from "../../src/factory/llm-prices";
import { type LlmConfigKeys, resolveLlmEndpoint } from "../../src/factory/llm-settings";
import { loadConfig } from "../../src/platform/config";
import { testEnv } from "./helpers";

/**
 * The client against the local OpenAI-compatible server (test/setup/openai-server.ts), reached
 * through the same FACTORY_LLM_* configuration the Worker reads. Each test scripts the server with
 * a marker in the prompt and reads back what the server received.
 */

const config: LlmConfigKeys = loadConfig(testEnv);
const serverOrigin = new URL(config.FACTORY_LLM_BASE_URL ?? "http://unset").origin;
const apiKey = config.FACTORY_LLM_API_KEY ?? "";

interface ServerCall {
  model: string;
  behaviour: string;
  authorized: boolean;
  status: number;
  body: { messages: { role: string; content: string }[]; response_format?: unknown; temperature?: number; max_tokens?: number; stop?: string[] };
}

async function serverCalls(scenario: string): Promise<ServerCall[]> {
  const response = await fetch(`${serverOrigin}/__calls?scenario=${scenario}`);
  return (await response.json()) as ServerCall[];
}

/** A prompt carrying the server's script: `behaviours` per model, e.g. { "gpt-4o": "not_json,good" }. */
function scripted(behaviours: Record<string, string>, extra = ""): { scenario: string; prompt: LlmPrompt } {
  const scenario = crypto.randomUUID();
  const script = Object.entries(behaviours).map(([model, b]) => `${model}=${b}`).join(" ");
  return {
    scenario,
    prompt: { system: "You judge production lines.", user: `Line L01, defect rate 0.073. [[llm-test id=${scenario} ${script} ${extra}]]` },
  };
}

const endpoint = (tenantSettings: unknown = {}, modelConfig: unknown = {}) => resolveLlmEndpoint({ tenantSettings, modelConfig, config });

describe("LLM judgments against an OpenAI-compatible server", () => {
  it("answers a judgment from a good reply, with tokens, cost and §4.1 llm_metadata", async () => {
    const { scenario, prompt } = scripted({ "gpt-4o": "good" }, "result=critical confidence=0.91");
    const outcome = await judgeWithLlm(endpoint({}, { temperature: 0.3, max_tokens: 800, stop_sequences: ["###END###"] }), prompt, { promptTemplateId: "tpl-1" });
    expect(outcome.status).toBe("ok");
    if (outcome.status !== "ok") return;
    expect(outcome.judgment).toMatchObject({ result: "critical", confidence: 0.91, reasoning_trace: "defect_rate 0.073 > target 0.05" });
    expect(outcome.judgment.recommended_actions).toEqual([
      { action_type: "alert", priority: "high", target: "shift_supervisor", message: "Check line L01 now", auto_execute: true },
    ]);
    expect(outcome.judgment.evidence).toEqual({
      data_refs: [{ table: "fact_daily_defect", filter: "line='L01'" }],
      urls: ["https://bi-dashboard/defect-trend/L01"],
      charts: [],
      related_judgments: [],
    });
    const [call] = outcome.calls;
    expect(outcome.calls).toHaveLength(1);
    expect(call).toMatchObject({ model: "gpt-4o", success: true, validationError: false, errorMessage: null, metadata: { attempt: 1, role: "primary", http_status: 200, finish_reason: "stop", usage_reported: true } });
    expect(call?.promptTokens).toBeGreaterThan(0);
    expect(call?.completionTokens).toBeGreaterThan(0);
    expect(call?.totalTokens).toBe((call?.promptTokens ?? 0) + (call?.completionTokens ?? 0));
    expect(call?.costEstimateUsd).toBe(Math.round((call?.promptTokens ?? 0) * 2.5 + (call?.completionTokens ?? 0) * 10) / 1e6);
    expect(call?.promptSummary).toContain("Line L01");
    expect(call?.responseSummary).toContain('"result":"critical"');
    expect(outcome.metadata).toEqual({
      model: "gpt-4o",
      prompt_template_id: "tpl-1",
      prompt_tokens: call?.promptTokens,
      completion_tokens: call?.completionTokens,
      total_tokens: call?.totalTokens,
      cost_estimate_usd: call?.costEstimateUsd,
      latency_ms: call?.latencyMs,
      temperature: 0.3,
      reasoning_trace: "defect_rate 0.073 > target 0.05",
      validation_passed: true,
      retry_count: 0,
      fallback_used: false,
      calls: 1,
    });

    const [received] = await serverCalls(scenario);
    expect(received).toMatchObject({ model: "gpt-4o", authorized: true, status: 200 });
    expect(received?.body).toMatchObject({ response_format: { type: "json_object" }, temperature: 0.3, max_tokens: 800, stop: ["###END###"] });
    expect(received?.body.messages.map((m) => m.role)).toEqual(["system", "user"]);
    expect(received?.body.messages[0]?.content).toContain('"result": "normal"|"warning"|"critical"|"unknown"');
  });

  it("sends few-shot examples as user/assistant turns before the question", async () => {
    const { scenario, prompt } = scripted({ "gpt-4o": "good" });
    const outcome = await judgeWithLlm(endpoint(), { ...prompt, fewShot: [{ user: "defect 0.01", assistant: '{"result":"normal"}' }] });
    expect(outcome.status).toBe("ok");
    const [received] = await serverCalls(scenario);
    expect(received?.body.messages.map((m) => [m.role, m.content.slice(0, 11)])).toEqual([
      ["system", "You judge p"],
      ["user", "defect 0.01"],
      ["assistant", '{"result":"'],
      ["user", "Line L01, d"],
    ]);
  });

  it("times out a slow model and answers from the fallback model", async () => {
    const { scenario, prompt } = scripted({ "gpt-4o": "slow", "gpt-4o-mini": "good" }, "delay=5000");
    const outcome = await judgeWithLlm(endpoint({ llm_config: { timeout_ms: 300 } }), prompt);
    expect(outcome.status).toBe("ok");
    if (outcome.status !== "ok") return;
    expect(outcome.judgment.explanation).toContain("gpt-4o-mini");
    expect(outcome.calls.map((c) => [c.model, c.success, c.metadata.role, c.errorMessage])).toEqual([
      ["gpt-4o", false, "primary", "timed out after 300 ms"],
      ["gpt-4o-mini", true, "fallback", null],
    ]);
    expect(outcome.calls[0]).toMatchObject({ promptTokens: 0, completionTokens: 0, totalTokens: 0, costEstimateUsd: 0 });
    expect(outcome.calls[0]?.latencyMs).toBeGreaterThanOrEqual(300);
    expect(outcome.metadata).toMatchObject({ model: "gpt-4o-mini", fallback_used: true, retry_count: 0, calls: 2, validation_passed: true });
    const second = outcome.calls[1];
    expect(outcome.metadata.cost_estimate_usd).toBe(Math.round((second?.promptTokens ?? 0) * 0.15 + (second?.completionTokens ?? 0) * 0.6) / 1e6);
    expect((await serverCalls(scenario)).map((c) => [c.model, c.behaviour])).toEqual([
      ["gpt-4o", "slow"],
      ["gpt-4o-mini", "good"],
    ]);
  });

  it("falls back on an HTTP error and never passes the reply's text (which echoes the key) on", async () => {
    const { scenario, prompt } = scripted({ "gpt-4o": "http_500", "gpt-4o-mini": "good" });
    const outcome = await judgeWithLlm(endpoint(), prompt);
    expect(outcome.status).toBe("ok");
    expect(outcome.calls.map((c) => [c.model, c.metadata.http_status, c.errorMessage])).toEqual([
      ["gpt-4o", 500, "HTTP 500 from the LLM endpoint (server_error)"],
      ["gpt-4o-mini", 200, null],
    ]);
    expect((await serverCalls(scenario)).map((c) => c.status)).toEqual([500, 200]);
  });

  it("ends with llm_error when the fallback fails too, naming the status and code only", async () => {
    const { scenario, prompt } = scripted({ "gpt-4o": "http_503", "gpt-4o-mini": "http_429" });
    const outcome = await judgeWithLlm(endpoint(), prompt);
    expect(outcome).toMatchObject({ status: "llm_error", error: "HTTP 429 from the LLM endpoint (rate_limit_exceeded)" });
    expect(outcome.metadata).toMatchObject({ validation_passed: false, fallback_used: true, calls: 2, total_tokens: 0 });
    expect(JSON.stringify(outcome)).not.toContain(apiKey);
    expect(await serverCalls(scenario)).toHaveLength(2);
  });

  it("without a fallback model, a failure is final after one call", async () => {
    const { scenario, prompt } = scripted({ "gpt-4o": "no_choices" });
    const outcome = await judgeWithLlm(resolveLlmEndpoint({ tenantSettings: {}, modelConfig: {}, config: { ...config, FACTORY_LLM_FALLBACK_MODEL: undefined } }), prompt);
    expect(outcome).toMatchObject({ status: "llm_error", error: "malformed chat-completions reply (no choices[0].message.content)" });
    expect(await serverCalls(scenario)).toHaveLength(1);
  });

  it("retries once after an answer that is not JSON, showing the model its answer and the problem", async () => {
    const { scenario, prompt } = scripted({ "gpt-4o": "not_json,good" });
    const outcome = await judgeWithLlm(endpoint(), prompt);
    expect(outcome.status).toBe("ok");
    expect(outcome.calls.map((c) => [c.metadata.role, c.success, c.validationError, c.errorMessage])).toEqual([
      ["primary", false, true, "the answer is not JSON"],
      ["retry", true, false, null],
    ]);
    expect(outcome.metadata).toMatchObject({ retry_count: 1, validation_passed: true, calls: 2, fallback_used: false });
    expect(outcome.metadata.prompt_tokens).toBe((outcome.calls[0]?.promptTokens ?? 0) + (outcome.calls[1]?.promptTokens ?? 0));
    const retry = (await serverCalls(scenario))[1];
    expect(retry?.body.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(retry?.body.messages[2]?.content).toBe("The line looks fine to me, nothing to worry about.");
    expect(retry?.body.messages[3]?.content).toContain("the answer is not JSON");
  });

  it("gives validation_error after the one retry also fails the schema, with every problem named", async () => {
    const { scenario, prompt } = scripted({ "gpt-4o": "bad_schema" });
    const outcome = await judgeWithLlm(endpoint(), prompt);
    expect(outcome.status).toBe("validation_error");
    if (outcome.status !== "validation_error") return;
    expect(outcome.problems).toEqual(expect.arrayContaining([expect.stringMatching(/^\/result: /), expect.stringMatching(/^\/confidence: /), expect.stringMatching(/^\/explanation: /)]));
    expect(outcome.calls.map((c) => [c.metadata.role, c.validationError, c.success])).toEqual([
      ["primary", true, false],
      ["retry", true, false],
    ]);
    expect(outcome.metadata).toMatchObject({ validation_passed: false, retry_count: 1, calls: 2, reasoning_trace: null });
    // Invalid answers still cost tokens: both calls are billed.
    expect(outcome.metadata.cost_estimate_usd).toBeGreaterThan(0);
    const received = await serverCalls(scenario);
    expect(received).toHaveLength(2);
    expect(received[1]?.body.messages[3]?.content).toContain("/confidence");
  });

  it("shares one retry between models: invalid, then a failed retry, then an invalid fallback is validation_error", async () => {
    const { scenario, prompt } = scripted({ "gpt-4o": "not_json,http_500", "gpt-4o-mini": "bad_schema" });
    const outcome = await judgeWithLlm(endpoint(), prompt);
    expect(outcome.status).toBe("validation_error");
    expect(outcome.calls.map((c) => [c.model, c.metadata.role])).toEqual([
      ["gpt-4o", "primary"],
      ["gpt-4o", "retry"],
      ["gpt-4o-mini", "fallback"],
    ]);
    expect(await serverCalls(scenario)).toHaveLength(3);
  });

  it("goes to a tenant's own endpoint with the tenant's key, never the configured key", async () => {
    const { scenario, prompt } = scripted({ "gpt-4.1-mini": "good" });
    const tenantKey = `sk-tenant-${crypto.randomUUID()}`;
    const outcome = await judgeWithLlm(endpoint({ llm_config: { base_url: config.FACTORY_LLM_BASE_URL, api_key: tenantKey, model: "gpt-4.1-mini" } }), prompt);
    // The server knows only the configured key, so the tenant's is refused: proof it was the one sent.
    expect(outcome).toMatchObject({ status: "llm_error", error: "HTTP 401 from the LLM endpoint (invalid_api_key)" });
    const received = await serverCalls(scenario);
    expect(received.map((c) => [c.model, c.authorized])).toEqual([
      ["gpt-4.1-mini", false],
      ["gpt-4o-mini", false],
    ]);
    const text = JSON.stringify(outcome);
    expect(text).not.toContain(tenantKey);
    expect(text).not.toContain(apiKey);
  });

  it("uses a tenant's model with the configured endpoint and key", async () => {
    const { scenario, prompt } = scripted({ "gpt-4.1-nano": "good" });
    const outcome = await judgeWithLlm(endpoint({ llm_config: { model: "gpt-4.1-nano", temperature: 0.7 } }), prompt);
    expect(outcome.status).toBe("ok");
    expect(outcome.metadata).toMatchObject({ model: "gpt-4.1-nano", temperature: 0.7 });
    expect((await serverCalls(scenario)).map((c) => c.authorized)).toEqual([true]);
  });

  it("reports no cost for a model without a listed price", async () => {
    const { prompt } = scripted({ "local-llama": "good" });
    const outcome = await judgeWithLlm(endpoint({}, { model: "local-llama" }), prompt);
    expect(outcome.status).toBe("ok");
    expect(outcome.calls[0]?.costEstimateUsd).toBeNull();
    expect(outcome.metadata.cost_estimate_usd).toBeNull();
  });

  it("names an unreachable endpoint without its address or key", async () => {
    const outcome = await judgeWithLlm(
      resolveLlmEndpoint({ tenantSettings: { llm_config: { base_url: "http://127.0.0.1:9/v1", api_key: "sk-unreachable-secret", fallback_model: "gpt-4o" } }, modelConfig: {}, config }),
      scripted({}).prompt,
    );
    expect(outcome).toMatchObject({ status: "llm_error", error: "could not reach the LLM endpoint" });
    expect(outcome.calls).toHaveLength(1);
    expect(JSON.stringify(outcome)).not.toContain("sk-unreachable-secret");
  });
});

describe("LLM endpoint settings", () => {
  it("takes the template's model over the tenant's over configuration", () => {
    expect(endpoint().model).toBe("gpt-4o");
    expect(endpoint({ llm_config: { model: "gpt-4.1" } }).model).toBe("gpt-4.1");
    expect(endpoint({ llm_config: { model: "gpt-4.1" } }, { model: "o4-mini" }).model).toBe("o4-mini");
    expect(endpoint({ llm_config: { fallback_model: "gpt-4.1-nano" } }).fallbackModel).toBe("gpt-4.1-nano");
    expect(endpoint().fallbackModel).toBe("gpt-4o-mini");
    expect(endpoint().timeoutMs).toBe(1500);
    expect(endpoint({ llm_config: { temperature: 0.1, max_tokens: 10 } }, { temperature: 0.5, top_p: 0.9 }).params).toEqual({
      temperature: 0.5,
      max_tokens: 10,
      top_p: 0.9,
      frequency_penalty: undefined,
      presence_penalty: undefined,
      stop: undefined,
    });
  });

  it("keeps the key out of JSON, logs and spreads of the endpoint", () => {
    const e = endpoint();
    expect(e.headers().Authorization).toBe(`Bearer ${apiKey}`);
    expect(JSON.stringify(e)).not.toContain(apiKey);
    expect(JSON.stringify({ ...e })).not.toContain(apiKey);
    expect(e.redact(`key ${apiKey} here`)).toBe("key [redacted] here");
    expect(endpoint({ llm_config: { base_url: "https://llm.example.com/v1" } }).headers().Authorization).toBeUndefined();
  });

  it("refuses bad tenant settings and a missing endpoint, naming the field and never the value", () => {
    const problem = (tenantSettings: unknown, modelConfig: unknown = {}, keys: LlmConfigKeys = config) => {
      try {
        resolveLlmEndpoint({ tenantSettings, modelConfig, config: keys });
      } catch (error) {
        return error as { field: string; message: string };
      }
      throw new Error("expected an LlmConfigError");
    };
    expect(problem({ llm_config: { temperature: 3 } }).field).toBe("settings.llm_config.temperature");
    expect(problem({ llm_config: { base_url: "http://llm.example.com/v1" } }).field).toBe("settings.llm_config.base_url");
    expect(problem({}, { max_tokens: 0 }).field).toBe("model_config.max_tokens");
    const missing = problem({}, {}, { ...config, FACTORY_LLM_BASE_URL: undefined });
    expect(missing.field).toBe("FACTORY_LLM_BASE_URL");
    expect(missing.message).not.toContain(apiKey);
  });
});

describe("LLM price table", () => {
  it("prices per 1M tokens, input and output apart, rounded to the micro-dollar", () => {
    expect(llmCostUsd("gpt-4o", 1_000_000, 1_000_000)).toBe(12.5);
    expect(llmCostUsd("gpt-4o", 850, 320)).toBe(0.005325);
    expect(llmCostUsd("gpt-4o-mini", 850, 320)).toBe(0.000320);
    expect(llmCostUsd("gpt-4o-2024-08-06", 1000, 0)).toBe(0.0025);
    expect(llmCostUsd("gpt-4.1", 0, 0)).toBe(0);
  });

  it("has no price for unknown models, whatever their name", () => {
    for (const model of ["local-llama", "constructor", "__proto__", "toString", "gpt-4o-turbo"]) expect(llmCostUsd(model, 100, 100), model).toBeNull();
  });
});
