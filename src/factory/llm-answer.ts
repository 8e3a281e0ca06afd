import { z } from "zod";

/**
 * What an LLM must answer for a judgment: the columns of judgment_executions it fills (spec 003
 * §4.1), in their JSON shapes. Unknown keys are dropped, not refused: models add chatter fields.
 */

/** judgment_executions.result's CHECK list. */
export const JUDGMENT_RESULTS = ["normal", "warning", "critical", "unknown"] as const;

const PRIORITIES = ["low", "medium", "high", "critical"] as const;
const text = (max: number) => z.string().trim().min(1).max(max);

/** §4.1 recommended_actions: an alert to someone, a workflow to start, or a ticket to open. */
export const RecommendedAction = z.discriminatedUnion("action_type", [
  z.object({
    action_type: z.literal("alert"),
    priority: z.enum(PRIORITIES).optional(),
    target: text(200).optional(),
    message: text(2000),
    auto_execute: z.boolean().default(false),
  }),
  z.object({
    action_type: z.literal("workflow"),
    workflow_id: text(200),
    input: z.record(z.string(), z.unknown()).optional(),
    auto_execute: z.boolean().default(false),
  }),
  z.object({
    action_type: z.literal("ticket"),
    system: text(100).optional(),
    title: text(500),
    priority: z.enum(PRIORITIES).optional(),
    assignee: text(200).optional(),
    auto_execute: z.boolean().default(false),
  }),
]);
export type RecommendedAction = z.infer<typeof RecommendedAction>;

/** §4.1 evidence: {data_refs[], urls[], charts[], related_judgments[]}. */
export const Evidence = z.object({
  data_refs: z.array(z.object({ table: text(200), filter: z.string().max(2000).optional() })).max(50).default([]),
  urls: z.array(z.string().max(2000)).max(50).default([]),
  charts: z
    .array(z.object({ type: text(50), title: text(500), data_url: z.string().max(2000).optional() }))
    .max(20)
    .default([]),
  related_judgments: z.array(z.string().max(200)).max(50).default([]),
});
export type Evidence = z.infer<typeof Evidence>;

export const LlmJudgment = z.object({
  result: z.enum(JUDGMENT_RESULTS),
  confidence: z.number().min(0).max(1),
  explanation: text(8000),
  recommended_actions: z.array(RecommendedAction).max(20).default([]),
  evidence: Evidence.default({ data_refs: [], urls: [], charts: [], related_judgments: [] }),
  /** §4.1 llm_metadata.reasoning_trace: the model's reasoning, kept apart from the explanation. */
  reasoning_trace: z.string().max(8000).optional(),
});
export type LlmJudgment = z.infer<typeof LlmJudgment>;

/** The shape, spelled out in the system message so a model knows what to answer. */
export const LLM_JUDGMENT_INSTRUCTIONS =
  'Answer with one JSON object only: {"result": "normal"|"warning"|"critical"|"unknown", "confidence": number 0..1, ' +
  '"explanation": string, "recommended_actions": [{"action_type": "alert", "priority"?, "target"?, "message", "auto_execute"?} | ' +
  '{"action_type": "workflow", "workflow_id", "input"?, "auto_execute"?} | {"action_type": "ticket", "system"?, "title", "priority"?, ' +
  '"assignee"?, "auto_execute"?}], "evidence": {"data_refs"?: [{"table", "filter"?}], "urls"?: [string], "charts"?: [{"type", "title", ' +
  '"data_url"?}], "related_judgments"?: [string]}, "reasoning_trace"?: string}. priority is low|medium|high|critical.';

export type ParsedAnswer = { ok: true; judgment: LlmJudgment } | { ok: false; problems: string[] };

const pointer = (path: PropertyKey[]) => path.map((p) => `/${String(p).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("") || "(root)";

/**
 * The message content as a judgment, or what is wrong with it (JSON pointers into the answer).
 * A single surrounding ``` fence is tolerated: some models wrap JSON even in JSON mode.
 */
export function parseLlmJudgment(content: string): ParsedAnswer {
  const unfenced = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/.exec(content)?.[1] ?? content;
  let value: unknown;
  try {
    value = JSON.parse(unfenced);
  } catch {
    return { ok: false, problems: ["the answer is not JSON"] };
  }
  const parsed = LlmJudgment.safeParse(value);
  if (parsed.success) return { ok: true, judgment: parsed.data };
  return { ok: false, problems: parsed.error.issues.slice(0, 10).map((i) => `${pointer(i.path)}: ${i.message}`) };
}
