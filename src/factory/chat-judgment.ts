import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { ApiError } from "../platform/problem";
import type { FactoryAccess } from "./access";
import type { Classification, Kpi } from "./chat-intents";
import { fixedReply, type Reply } from "./chat-replies";
import { executeJudgment } from "./judgment-execute";

/** A judgment asked for in chat is authorized as POST /judgments/execute is: the caller needs judgment:execute too. */
const JUDGE: FactoryAccess = { "x-permission": "judgment:execute" };

export interface ActiveRuleset {
  id: string;
  name: string;
  targetKpi: string;
}

/**
 * run_judgment: judges the value said for the KPI with the tenant's active ruleset for that KPI
 * (the highest priority; the turn's first read lists them), by rules only, through part 1's
 * executeJudgment() on the chat route's context (cache, quota, judgment row as usual, source
 * `manual`). The threshold said becomes context.target_<kpi>, which the rule reads. A refusal
 * (no judgment:execute, quota spent, ...) is answered, not raised: the turn is still recorded.
 */
export async function judgmentFromChat(c: Context<AppEnv>, cl: Classification, rulesets: readonly ActiveRuleset[]): Promise<Reply> {
  const ko = cl.lang === "ko";
  const kpi: Kpi = cl.slots.kpi ?? "defect_rate";
  const { value, threshold, line_code: line } = cl.slots;
  if (value === undefined) {
    return fixedReply("run_judgment", ko ? `판단할 ${kpi} 값을 알려 주세요 (예: "L01 불량률 7.3% 판단해줘").` : `Which ${kpi} value should I judge? For example "judge L01 defect rate 7.3%".`, { status: "needs_value", kpi });
  }
  const ruleset = rulesets.find((r) => r.targetKpi === kpi);
  if (!ruleset) return fixedReply("run_judgment", ko ? `${kpi}를 판단하는 활성 룰셋이 없습니다.` : `No active ruleset judges ${kpi}.`, { status: "no_ruleset", kpi });
  const inputData = {
    ...(line ? { line_code: line } : {}),
    metrics: { [kpi]: value },
    context: threshold === undefined ? {} : { [`target_${kpi}`]: threshold },
  };
  try {
    const j = await executeJudgment(c, JUDGE, { inputData, rulesetId: ruleset.id, method: "rule_only", source: "manual" });
    const data = { status: "judged", judgment_id: j.id, ruleset_id: ruleset.id, ruleset: ruleset.name, result: j.result, confidence: j.confidence, method_used: j.methodUsed, input_data: inputData };
    const parts = ko
      ? [`룰셋 ${ruleset.name}로 판단했습니다: ${j.result} (신뢰도 ${j.confidence ?? "-"}).`, j.explanation, `(판단 ${j.id})`]
      : [`Judged with ruleset ${ruleset.name}: ${j.result} (confidence ${j.confidence ?? "-"}).`, j.explanation, `(judgment ${j.id})`];
    return fixedReply("run_judgment", parts.filter(Boolean).join(" "), data);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const text = ko ? `판단을 실행하지 못했습니다: ${err.message}` : `The judgment was not run: ${err.message}`;
    return fixedReply("run_judgment", text, { status: "refused", code: err.code, ruleset_id: ruleset.id, input_data: inputData });
  }
}
