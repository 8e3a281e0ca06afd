import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local server speaking OpenAI's chat-completions protocol (POST /v1/chat/completions, bearer
 * key, `usage` in every answer) for the factory's LLM tests. What it answers is chosen per request:
 *
 * - a marker anywhere in the messages: `[[llm-test id=<scenario> <model>=<b1>,<b2>… result=<r>
 *   confidence=<c> delay=<ms>]]` — the n-th call of a scenario to a model gets b_n (the last one
 *   repeats), so a test scripts "invalid, then good" or "slow on gpt-4o, good on gpt-4o-mini";
 * - else the model name: `test-<behaviour>` behaves so, any other model answers well.
 *
 * Behaviours: good, slow (waits `delay`, default 5000 ms, then good), not_json, bad_schema,
 * no_choices, rhai_rule (an auto rule: `feature` above `threshold` is critical), rhai_broken (a
 * rule that does not compile), http_<status>. A good answer to an intent prompt (the system message holds the chat's
 * `Task: chat-intent-classification` line) is intentAnswer()'s, deterministic like the rest. Every request is recorded; GET /__calls?scenario=<id> lists them.
 * A wrong key gets 401 with the key echoed in the message, as OpenAI does, so tests can check
 * that the client never passes reply text on.
 */

export interface RecordedCall {
  scenario: string | null;
  model: string;
  behaviour: string;
  authorized: boolean;
  status: number;
  body: Record<string, unknown>;
}

const BEHAVIOURS = /^(good|slow|not_json|bad_schema|no_choices|rhai_rule|rhai_broken|http_\d{3})$/;
const MARKER = /\[\[llm-test ([^\]]*)\]\]/;

type Message = { role?: unknown; content?: unknown };

function scenarioOf(messages: Message[]): Record<string, string> | null {
  for (const message of messages) {
    const match = typeof message.content === "string" ? MARKER.exec(message.content) : null;
    if (match) return Object.fromEntries((match[1] ?? "").trim().split(/\s+/).map((kv) => kv.split("=", 2) as [string, string]));
  }
  return null;
}

const tokens = (text: string) => Math.ceil(text.length / 4);

function goodAnswer(model: string, options: Record<string, string>) {
  return JSON.stringify({
    result: options.result ?? "warning",
    confidence: Number(options.confidence ?? 0.82),
    explanation: `Defect rate is above target (answered by ${model}).`,
    recommended_actions: [{ action_type: "alert", priority: "high", target: "shift_supervisor", message: "Check line L01 now", auto_execute: true }],
    evidence: { data_refs: [{ table: "fact_daily_defect", filter: "line='L01'" }], urls: ["https://bi-dashboard/defect-trend/L01"] },
    reasoning_trace: "defect_rate 0.073 > target 0.05",
  });
}

const INTENT_TASK = "Task: chat-intent-classification";
/** What the test "model" answers with, so a test can tell its classification from the rules'. */
export const LLM_INTENT_CONFIDENCE = 0.97;

const day = (iso: string, offset: number) => new Date(Date.parse(`${iso}T00:00:00Z`) + offset * 86_400_000).toISOString().slice(0, 10);

/**
 * A stand-in for a model reading an operator's message: keyword rules of its own (not the app's),
 * dates against the "Today is YYYY-MM-DD" line of the prompt, names in quotes or next to the
 * word "rule"/"룰" and "workflow"/"워크플로우". It understands
 * "품질" and "quality" as the defect rate, which the app's rules do not, so a test can see whose
 * classification was used.
 */
export function intentAnswer(text: string, today: string) {
  const slots: Record<string, unknown> = {};
  const line = /\b[Ll](\d{2})\b/.exec(text) ?? /(\d)\s*번\s*라인/.exec(text) ?? /\bline (\d)\b/i.exec(text);
  if (line) slots.line_code = `L${line[1]!.padStart(2, "0")}`;
  if (/어제|yesterday/i.test(text)) slots.date_range = { start: day(today, -1), end: day(today, -1) };
  if (/지난\s*주|last week/i.test(text)) {
    const monday = day(today, -((new Date(`${today}T00:00:00Z`).getUTCDay() + 6) % 7));
    slots.date_range = { start: day(monday, -7), end: day(monday, -1) };
  }
  const quoted = /["“]([^"”]+)["”]/.exec(text)?.[1];
  const number = /(\d+(?:\.\d+)?)\s*%/.exec(text);
  let intent = "unknown";
  const rule = quoted ?? /\brule (\S+)/i.exec(text)?.[1] ?? /(\S+)\s*룰/.exec(text)?.[1];
  const workflow = quoted ?? /\b(?:run|start) (?:the )?(\S+) workflow/i.exec(text)?.[1] ?? /^(.+?)\s*워크플로우/.exec(text)?.[1];
  if (/설명|explain/i.test(text) && rule) [intent, slots.rule] = ["explain_rule", rule];
  else if (/워크플로우|workflow/i.test(text) && workflow) [intent, slots.workflow] = ["run_workflow", workflow];
  else if (/심각|critical/i.test(text)) intent = "list_critical_judgments";
  else if (/판단해|judge/i.test(text) && number) [intent, slots.kpi, slots.value] = ["run_judgment", "defect_rate", Number(number[1]) / 100];
  else if (/oee/i.test(text)) [intent, slots.kpi] = ["check_oee", "oee"];
  else if (/불량|품질|defect|quality/i.test(text)) [intent, slots.kpi] = ["query_defect_rate", "defect_rate"];
  return JSON.stringify({ intent, confidence: intent === "unknown" ? 0.3 : LLM_INTENT_CONFIDENCE, slots });
}

function intentPrompt(messages: Message[]): { text: string; today: string } | null {
  const system = messages.find((m) => m.role === "system" && typeof m.content === "string" && m.content.includes(INTENT_TASK));
  if (!system) return null;
  const today = /Today is (\d{4}-\d{2}-\d{2})/.exec(system.content as string)?.[1] ?? new Date().toISOString().slice(0, 10);
  const user = messages.findLast((m) => m.role === "user");
  return { text: typeof user?.content === "string" ? user.content : "", today };
}

export async function startOpenAiServer() {
  const apiKey = `sk-test-${randomBytes(18).toString("hex")}`;
  const calls: RecordedCall[] = [];
  const perModel = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();

  const send = (res: ServerResponse, status: number, body: unknown) => {
    if (!res.destroyed) res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
  };

  function complete(res: ServerResponse, model: string, messages: Message[], content: string | null) {
    const promptText = messages.map((m) => (typeof m.content === "string" ? m.content : "")).join("");
    const usage = { prompt_tokens: tokens(promptText), completion_tokens: tokens(content ?? ""), total_tokens: 0 };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const choices = content === null ? [] : [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }];
    send(res, 200, { id: `chatcmpl-${randomBytes(6).toString("hex")}`, object: "chat.completion", created: Math.floor(Date.now() / 1000), model, choices, usage });
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://llm");
    if (req.method === "GET" && url.pathname === "/__calls") {
      const scenario = url.searchParams.get("scenario");
      return send(res, 200, calls.filter((c) => scenario === null || c.scenario === scenario));
    }
    if (req.method !== "POST" || url.pathname !== "/v1/chat/completions") {
      return send(res, 404, { error: { message: "not found", type: "invalid_request_error", code: "not_found" } });
    }
    let raw = "";
    for await (const chunk of req) raw += chunk;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return send(res, 400, { error: { message: "We could not parse the JSON body of your request.", type: "invalid_request_error", code: null } });
    }
    const model = typeof body.model === "string" ? body.model : "";
    const messages = Array.isArray(body.messages) ? (body.messages as Message[]) : [];
    const scenario = scenarioOf(messages);
    const given = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    const authorized = given === apiKey;
    const record = (behaviour: string, status: number) =>
      calls.push({ scenario: scenario?.id ?? null, model, behaviour, authorized, status, body });
    if (!authorized) {
      record("unauthorized", 401);
      return send(res, 401, { error: { message: `Incorrect API key provided: ${given}.`, type: "invalid_request_error", code: "invalid_api_key" } });
    }
    if (!model || messages.length === 0) {
      record("bad_request", 400);
      return send(res, 400, { error: { message: "model and messages are required", type: "invalid_request_error", code: "missing_required_parameter" } });
    }
    const key = `${scenario?.id ?? ""}\u0000${model}`;
    const n = perModel.get(key) ?? 0;
    perModel.set(key, n + 1);
    const script = (scenario?.[model] ?? (model.startsWith("test-") ? model.slice(5) : "good")).split(",");
    const behaviour = script[Math.min(n, script.length - 1)] ?? "good";
    if (!BEHAVIOURS.test(behaviour)) {
      record(behaviour, 400);
      return send(res, 400, { error: { message: `unknown test behaviour ${behaviour}`, type: "invalid_request_error", code: "unknown_behaviour" } });
    }
    const status = behaviour.startsWith("http_") ? Number(behaviour.slice(5)) : 200;
    record(behaviour, status);
    const options = scenario ?? {};
    const intent = intentPrompt(messages);
    switch (behaviour) {
      case "good":
        return complete(res, model, messages, intent ? intentAnswer(intent.text, intent.today) : goodAnswer(model, options));
      case "slow": {
        const timer = setTimeout(() => {
          timers.delete(timer);
          complete(res, model, messages, goodAnswer(model, options));
        }, Number(options.delay ?? 5000));
        timers.add(timer);
        res.on("close", () => {
          clearTimeout(timer);
          timers.delete(timer);
        });
        return;
      }
      case "rhai_rule": {
        // An auto-rule answer (docs/factory-learning.md): `feature` (default defect_rate) above `threshold` (default 0.07) is critical.
        const feature = options.feature ?? "defect_rate";
        const threshold = options.threshold ?? "0.07";
        const script = `fn llm_rule(metrics) {\n  if metrics.${feature} > ${threshold} { #{ result: "critical", confidence: 0.9, explanation: "${feature} above ${threshold}" } }\n  else { #{ result: "normal", confidence: 0.8, explanation: "${feature} within ${threshold}" } }\n}`;
        return complete(res, model, messages, JSON.stringify({ script }));
      }
      case "rhai_broken":
        return complete(res, model, messages, JSON.stringify({ script: "fn llm_rule(metrics) { if metrics.defect_rate > { #{ result: } }" }));
      case "not_json":
        return complete(res, model, messages, "The line looks fine to me, nothing to worry about.");
      case "bad_schema":
        return complete(res, model, messages, JSON.stringify({ result: "maybe", confidence: 1.7, explanation: "" }));
      case "no_choices":
        return complete(res, model, messages, null);
      default:
        return send(res, status, {
          error:
            status === 429
              ? { message: `Rate limit reached for ${model} (key ${given}).`, type: "requests", code: "rate_limit_exceeded" }
              : { message: `The server had an error (${status}). Key: ${given}`, type: "server_error", code: null },
        });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, { error: { message: "test server failure", type: "server_error", code: null } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    /** The OpenAI-style base URL (…/v1); the control endpoint is /__calls on the same origin. */
    url: `http://127.0.0.1:${port}/v1`,
    apiKey,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
