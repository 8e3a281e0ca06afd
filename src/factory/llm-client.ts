import { LLM_JUDGMENT_INSTRUCTIONS, type LlmJudgment, parseLlmJudgment } from "./llm-answer";
import { llmCostUsd } from "./llm-prices";
import type { LlmEndpoint } from "./llm-settings";

/**
 * A judgment asked of an OpenAI-compatible chat-completions endpoint (spec 003 §4, §7.3):
 * JSON mode, a timeout per call, the fallback model when a call fails (error status, timeout,
 * unreachable, malformed reply), one retry when the answer fails the judgment schema, then
 * `validation_error`. No database here: the caller writes an llm_calls row per entry of `calls`
 * and `metadata` into judgment_executions.llm_metadata. Rules: docs/factory-llm.md.
 */

export interface LlmPrompt {
  system: string;
  user: string;
  /** Worked examples sent before the question as user/assistant turns. */
  fewShot?: { user: string; assistant: string }[];
}

/** One HTTP call, in llm_calls' columns (camelCase); `metadata` goes to llm_calls.metadata. */
export interface LlmCallRecord {
  model: string;
  promptSummary: string;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  costEstimateUsd: number | null;
  latencyMs: number;
  success: boolean;
  validationError: boolean;
  errorMessage: string | null;
  responseSummary: string | null;
  metadata: { attempt: number; role: "primary" | "retry" | "fallback"; http_status?: number; finish_reason?: string; usage_reported: boolean };
}

/** §4.1 llm_metadata, plus fallback_used and calls (how many llm_calls rows). */
export interface LlmMetadata {
  model: string;
  prompt_template_id: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost_estimate_usd: number | null;
  latency_ms: number;
  temperature: number | null;
  reasoning_trace: string | null;
  validation_passed: boolean;
  retry_count: number;
  fallback_used: boolean;
  calls: number;
}

export type LlmJudgmentOutcome =
  | { status: "ok"; judgment: LlmJudgment; calls: LlmCallRecord[]; metadata: LlmMetadata }
  /** Answers came back but failed the schema twice (or once after a retry on another model). */
  | { status: "validation_error"; problems: string[]; calls: LlmCallRecord[]; metadata: LlmMetadata }
  /** Every model failed at the transport level; `error` is safe to show (no key, no reply text). */
  | { status: "llm_error"; error: string; calls: LlmCallRecord[]; metadata: LlmMetadata };

const SUMMARY_CHARS = 500;
const REPLAYED_ANSWER_CHARS = 4000;

type Message = { role: "system" | "user" | "assistant"; content: string };

type CallResult =
  | { kind: "answer"; content: string; record: LlmCallRecord }
  | { kind: "failed"; record: LlmCallRecord };

/** A short machine word from an error reply (`rate_limit_exceeded`), never its free text, which may echo the key. */
const errorCode = (body: unknown): string | null => {
  const error = body && typeof body === "object" ? (body as { error?: unknown }).error : undefined;
  const code = error && typeof error === "object" ? ((error as { code?: unknown }).code ?? (error as { type?: unknown }).type) : undefined;
  return typeof code === "string" && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : null;
};

const count = (v: unknown) => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : 0);

async function callOnce(endpoint: LlmEndpoint, model: string, messages: Message[], attempt: number, role: LlmCallRecord["metadata"]["role"]): Promise<CallResult> {
  const started = Date.now();
  const record: LlmCallRecord = {
    model,
    promptSummary: (messages.findLast((m) => m.role === "user")?.content ?? "").slice(0, SUMMARY_CHARS),
    promptTokens: 0,
    completionTokens: 0,
    totalTokens: 0,
    costEstimateUsd: 0,
    latencyMs: 0,
    success: false,
    validationError: false,
    errorMessage: null,
    responseSummary: null,
    metadata: { attempt, role, usage_reported: false },
  };
  const failed = (message: string): CallResult => {
    record.latencyMs = Date.now() - started;
    record.errorMessage = endpoint.redact(message);
    return { kind: "failed", record };
  };
  let response: Response;
  try {
    response = await fetch(endpoint.chatCompletionsUrl, {
      method: "POST",
      headers: endpoint.headers(),
      body: JSON.stringify({ model, messages, response_format: { type: "json_object" }, ...endpoint.params }),
      signal: AbortSignal.timeout(endpoint.timeoutMs),
    });
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    return failed(timedOut ? `timed out after ${endpoint.timeoutMs} ms` : "could not reach the LLM endpoint");
  }
  record.metadata.http_status = response.status;
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    if (timedOut) return failed(`timed out after ${endpoint.timeoutMs} ms`);
    if (response.ok) return failed("malformed chat-completions reply (not JSON)");
    body = null;
  }
  if (!response.ok) {
    const code = errorCode(body);
    return failed(`HTTP ${response.status} from the LLM endpoint${code ? ` (${code})` : ""}`);
  }
  const reply = body as { choices?: { message?: { content?: unknown }; finish_reason?: unknown }[]; usage?: Record<string, unknown> };
  const choice = reply?.choices?.[0];
  const content = choice?.message?.content;
  if (typeof content !== "string") return failed("malformed chat-completions reply (no choices[0].message.content)");
  if (typeof choice?.finish_reason === "string") record.metadata.finish_reason = choice.finish_reason;
  const usage = reply.usage;
  record.metadata.usage_reported = Boolean(usage && typeof usage === "object");
  record.promptTokens = count(usage?.prompt_tokens);
  record.completionTokens = count(usage?.completion_tokens);
  record.totalTokens = count(usage?.total_tokens) || record.promptTokens + record.completionTokens;
  record.costEstimateUsd = llmCostUsd(model, record.promptTokens, record.completionTokens);
  record.latencyMs = Date.now() - started;
  record.responseSummary = endpoint.redact(content.slice(0, SUMMARY_CHARS));
  return { kind: "answer", content, record };
}

function baseMessages(prompt: LlmPrompt, instructions: string): Message[] {
  return [
    { role: "system", content: `${prompt.system}\n\n${instructions}` },
    ...(prompt.fewShot ?? []).flatMap((e): Message[] => [
      { role: "user", content: e.user },
      { role: "assistant", content: e.assistant },
    ]),
    { role: "user", content: prompt.user },
  ];
}

/** The retry shows the model its own answer and what was wrong with it. */
const repairMessages = (base: Message[], answer: string, problems: string[]): Message[] => [
  ...base,
  { role: "assistant", content: answer.slice(0, REPLAYED_ANSWER_CHARS) },
  { role: "user", content: `That answer is not valid: ${problems.join("; ")}. Answer again with the JSON object only.` },
];

function metadataOf(endpoint: LlmEndpoint, calls: LlmCallRecord[], promptTemplateId: string | null, reasoning: string | null, validated: boolean, retries: number): LlmMetadata {
  const sum = (pick: (c: LlmCallRecord) => number) => calls.reduce((total, c) => total + pick(c), 0);
  const costs = calls.map((c) => c.costEstimateUsd);
  return {
    model: calls.at(-1)?.model ?? endpoint.model,
    prompt_template_id: promptTemplateId,
    prompt_tokens: sum((c) => c.promptTokens),
    completion_tokens: sum((c) => c.completionTokens),
    total_tokens: sum((c) => c.totalTokens),
    // Unknown when any call's model has no listed price: a partial sum would read as the whole.
    cost_estimate_usd: costs.includes(null) ? null : Math.round(sum((c) => (c.costEstimateUsd ?? 0) * 1e6)) / 1e6,
    latency_ms: sum((c) => c.latencyMs),
    temperature: endpoint.params.temperature ?? null,
    reasoning_trace: reasoning,
    validation_passed: validated,
    retry_count: retries,
    fallback_used: calls.some((c) => c.metadata.role === "fallback"),
    calls: calls.length,
  };
}

/** What a JSON answer must be: the instructions appended to the system message, and the parser that checks an answer. */
export interface JsonAnswerSpec<T> {
  instructions: string;
  parse: (content: string) => { ok: true; value: T } | { ok: false; problems: string[] };
  /** The answer's reasoning, for llm_metadata.reasoning_trace. */
  reasoning?: (value: T) => string | null;
}

export type LlmJsonOutcome<T> =
  | { status: "ok"; value: T; calls: LlmCallRecord[]; metadata: LlmMetadata }
  | { status: "validation_error"; problems: string[]; calls: LlmCallRecord[]; metadata: LlmMetadata }
  | { status: "llm_error"; error: string; calls: LlmCallRecord[]; metadata: LlmMetadata };

/**
 * Asks for one JSON answer of `spec`'s shape. At most three calls: the model; the fallback model
 * after a transport failure; one retry (same model) after an invalid answer. The retry budget is
 * shared, so a second invalid answer ends with validation_error whichever model gave it.
 */
export async function askLlmForJson<T>(endpoint: LlmEndpoint, prompt: LlmPrompt, spec: JsonAnswerSpec<T>, options: { promptTemplateId?: string } = {}): Promise<LlmJsonOutcome<T>> {
  const base = baseMessages(prompt, spec.instructions);
  const models = [endpoint.model, ...(endpoint.fallbackModel && endpoint.fallbackModel !== endpoint.model ? [endpoint.fallbackModel] : [])];
  const calls: LlmCallRecord[] = [];
  const templateId = options.promptTemplateId ?? null;
  let modelIndex = 0;
  let retries = 0;
  let messages = base;
  let role: LlmCallRecord["metadata"]["role"] = "primary";
  for (;;) {
    const model = models[modelIndex] ?? endpoint.model;
    const result = await callOnce(endpoint, model, messages, calls.length + 1, role);
    calls.push(result.record);
    if (result.kind === "failed") {
      if (modelIndex + 1 >= models.length) {
        return { status: "llm_error", error: result.record.errorMessage ?? "LLM call failed", calls, metadata: metadataOf(endpoint, calls, templateId, null, false, retries) };
      }
      modelIndex += 1;
      role = "fallback";
      messages = base;
      continue;
    }
    const answer = spec.parse(result.content);
    if (answer.ok) {
      result.record.success = true;
      return { status: "ok", value: answer.value, calls, metadata: metadataOf(endpoint, calls, templateId, spec.reasoning?.(answer.value) ?? null, true, retries) };
    }
    result.record.validationError = true;
    result.record.errorMessage = endpoint.redact(answer.problems.join("; ")).slice(0, SUMMARY_CHARS);
    if (retries >= 1) {
      return { status: "validation_error", problems: answer.problems, calls, metadata: metadataOf(endpoint, calls, templateId, null, false, retries) };
    }
    retries += 1;
    role = "retry";
    messages = repairMessages(base, result.content, answer.problems);
  }
}

const JUDGMENT_ANSWER: JsonAnswerSpec<LlmJudgment> = {
  instructions: LLM_JUDGMENT_INSTRUCTIONS,
  parse: (content) => {
    const parsed = parseLlmJudgment(content);
    return parsed.ok ? { ok: true, value: parsed.judgment } : parsed;
  },
  reasoning: (judgment) => judgment.reasoning_trace ?? null,
};

/** Asks for a judgment (askLlmForJson() with the judgment's answer shape). */
export async function judgeWithLlm(endpoint: LlmEndpoint, prompt: LlmPrompt, options: { promptTemplateId?: string } = {}): Promise<LlmJudgmentOutcome> {
  const outcome = await askLlmForJson(endpoint, prompt, JUDGMENT_ANSWER, options);
  if (outcome.status !== "ok") return outcome;
  const { value, ...rest } = outcome;
  return { ...rest, judgment: value };
}
