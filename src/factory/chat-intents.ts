import { isCalendarDate } from "./chat-dates";

/**
 * What a chat message asks for (spec 003 §8.3): an intent and its slots. The rules here classify
 * Korean and English without an LLM; chat-intent-llm.ts asks the LLM for the same shape when one
 * is configured. Dates are kept relative (`DateSpec`) until the turn's statement resolves them in
 * the tenant's time zone (chat-dates.ts). Rules and their confidences: docs/factory-chat.md.
 */

export const INTENTS = ["query_defect_rate", "check_oee", "query_kpi", "list_critical_judgments", "run_judgment", "run_workflow", "explain_rule", "unknown"] as const;
export type Intent = (typeof INTENTS)[number];

/** §4.1's metric names, which chat can ask about and judge. */
export const KPIS = ["defect_rate", "oee", "production_qty", "cycle_time_avg"] as const;
export type Kpi = (typeof KPIS)[number];

/** A date range as said: whole days, weeks or months relative to today (0 = this one), or absolute dates. */
export type DateSpec = { unit: "day" | "week" | "month"; from: number; to: number } | { start: string; end: string };

/**
 * §8.3 extracted_slots: line_code, date_range, kpi, threshold; `value` (the measured value to
 * judge), `workflow` and `rule` (names as said) are this project's additions.
 */
export interface Slots {
  line_code?: string;
  date_range?: DateSpec;
  kpi?: Kpi;
  threshold?: number;
  value?: number;
  workflow?: string;
  rule?: string;
}

export interface Classification {
  intent: Intent;
  confidence: number;
  slots: Slots;
  /** The language to answer in: Korean when the message has Hangul. */
  lang: "ko" | "en";
  by: "rules" | "llm";
}

const HANGUL = /[\uac00-\ud7a3]/;
const NUMBER = String.raw`(\d+(?:\.\d+)?)\s*(%|퍼센트|percent)?`;

const KPI_WORDS: [Kpi, RegExp][] = [
  ["defect_rate", /불량|defect|reject|scrap/i],
  ["oee", /\boee\b|설비\s*종합\s*효율|종합\s*효율/i],
  ["cycle_time_avg", /cycle\s*time|사이클\s*타임|사이클타임|택트/i],
  ["production_qty", /생산량|production|output|throughput/i],
];

/** Rates are said in percent or as fractions; stored as fractions (0.073). */
const RATE_KPIS: ReadonlySet<Kpi> = new Set(["defect_rate", "oee"]);

const kpiOf = (text: string): Kpi | undefined => KPI_WORDS.find(([, re]) => re.test(text))?.[0];

/** L01, l2 → L02, "line 3", "3라인", "3번 라인" → L03. */
function lineOf(text: string): string | undefined {
  const code = /(?:^|[^A-Za-z0-9])([Ll])-?(\d{1,3})(?=$|[^A-Za-z0-9])/.exec(text);
  const spoken = /\bline\s*(\d{1,3})\b/i.exec(text) ?? /(\d{1,3})\s*(?:번\s*)?라인/.exec(text) ?? /라인\s*(\d{1,3})/.exec(text);
  const digits = code?.[2] ?? spoken?.[1];
  return digits === undefined ? undefined : `L${digits.padStart(2, "0")}`;
}

const toNumber = (digits: string, percent: string | undefined, kpi: Kpi | undefined) => {
  const n = Number(digits);
  return percent || (kpi && RATE_KPIS.has(kpi) && n > 1) ? n / 100 : n;
};

const THRESHOLD_PATTERNS = [
  new RegExp(String.raw`(?:above|over|exceed(?:s|ing)?|more than|greater than|below|under|less than|threshold(?: of)?|target(?: of)?|>|<)\s*${NUMBER}`, "i"),
  new RegExp(String.raw`(?:기준|목표|임계(?:값|치)?)\s*(?:은|는|이|가)?\s*${NUMBER}`),
  new RegExp(String.raw`${NUMBER}\s*(?:이상|초과|넘|보다|이하|미만)`),
];

/** The threshold said ("5% 넘은", "above 0.05"), and where it was, so it is not read as the value too. */
function thresholdOf(text: string, kpi: Kpi | undefined): { value: number; at: string } | undefined {
  for (const re of THRESHOLD_PATTERNS) {
    const m = re.exec(text);
    if (m) return { value: toNumber(m[1]!, m[2], kpi), at: m[0] };
  }
  return undefined;
}

/** The measured value to judge: a number that is neither the line code nor the threshold. */
function valueOf(text: string, kpi: Kpi | undefined, threshold: string | undefined): number | undefined {
  const rest = (threshold ? text.replace(threshold, " ") : text).replace(/(?:^|[^A-Za-z0-9])[Ll]-?\d{1,3}(?=$|[^A-Za-z0-9])/g, " ").replace(/\d{4}-\d{2}-\d{2}/g, " ");
  const m = new RegExp(NUMBER, "i").exec(rest.replace(/(\d{1,3})\s*(?:번\s*)?라인|line\s*\d{1,3}/gi, " "));
  return m ? toNumber(m[1]!, m[2], kpi) : undefined;
}

const ISO_DATE = /\b(\d{4}-\d{2}-\d{2})\b/g;

/** Relative dates in Korean and English; weeks start on Monday. */
function dateOf(text: string): DateSpec | undefined {
  // Only real dates (2024-02-31 is a typo, not a slot Postgres would refuse), in order whichever is said first.
  const iso = [...text.matchAll(ISO_DATE)].map((m) => m[1]!).filter(isCalendarDate).slice(0, 2).sort();
  if (iso.length) return { start: iso[0]!, end: iso[1] ?? iso[0]! };
  const lastDays = /(?:최근|지난)\s*(\d{1,3})\s*일|(?:last|past)\s+(\d{1,3})\s+days?/i.exec(text);
  if (lastDays) return { unit: "day", from: 1 - Number(lastDays[1] ?? lastDays[2]), to: 0 };
  const table: [RegExp, DateSpec][] = [
    [/그저께|그제|day before yesterday/i, { unit: "day", from: -2, to: -2 }],
    [/어제|yesterday/i, { unit: "day", from: -1, to: -1 }],
    [/오늘|금일|today/i, { unit: "day", from: 0, to: 0 }],
    [/지난\s*주|저번\s*주|last week/i, { unit: "week", from: -1, to: -1 }],
    [/이번\s*주|금주|this week/i, { unit: "week", from: 0, to: 0 }],
    [/지난\s*달|저번\s*달|last month/i, { unit: "month", from: -1, to: -1 }],
    [/이번\s*달|this month/i, { unit: "month", from: 0, to: 0 }],
  ];
  return table.find(([re]) => re.test(text))?.[1];
}

const clean = (name: string) => name.trim().replace(/^["'`“‘]+|["'`”’.?!]+$/g, "").trim();

const EXPLAIN_EN = /\b(?:explain|describe|what does|what is|tell me about)\s+(?:the\s+)?(?:rule(?:set)?)\s+(.+?)(?:\s+(?:do|does|mean))?\s*[?.!]*$/i;
const EXPLAIN_EN_AFTER = /\b(?:explain|describe)\s+(?:the\s+)?(.+?)\s+rule(?:set)?\b/i;
const EXPLAIN_KO = /(?:^|\s)(\S+?)\s*(?:룰셋|룰|규칙)\s*(?:을|를|이|가|은|는)?\s*(?:좀\s*)?(?:설명|알려|뭐)/;
const WORKFLOW_EN = /\b(?:run|start|execute|launch|trigger|kick off)\b/i;
/** "run the defect workflow for L01": the name before "workflow"; else "run workflow defect" (to the end). */
const WORKFLOW_NAME_EN = [
  /\b(?:run|start|execute|launch|trigger|kick off)\s+(?:the\s+)?(?!workflow\b)(.+?)\s+workflow\b/i,
  /\b(?:run|start|execute|launch|trigger|kick off)\s+(?:the\s+)?(?:workflow\s+)?(.+?)\s*(?:workflow)?\s*[?.!]*$/i,
];
const WORKFLOW_KO = /워크\s*플로우?|워크플로/;
/** "L01 불량대응 워크플로우 실행해줘": the word before 워크플로우, or a quoted name with spaces. */
const WORKFLOW_NAME_KO = [/["“]([^"”]+)["”]\s*(?:워크\s*플로우?|워크플로)/, /(\S+?)\s*(?:워크\s*플로우?|워크플로)/];
const RUN_KO = /실행|시작|돌려|가동/;
const CRITICAL = /critical|심각|위험|크리티컬/i;
const JUDGE = /\b(?:judge|evaluate|assess)\b|판단\s*해|판정\s*해|평가\s*해|판단\s*(?:좀|을|실행)|판정\s*(?:좀|을)/i;

/**
 * The rules: explain a rule, run a workflow, list critical judgments, run a judgment, ask about
 * a KPI, in that order; the first that matches wins. Confidence: 0.9 when the request's verb and
 * object are both said, 0.7 when only a keyword points to it, 0.2 for unknown.
 */
export function classifyByRules(message: string): Classification {
  const text = message.normalize("NFC");
  const lang = HANGUL.test(text) ? "ko" : "en";
  const kpi = kpiOf(text);
  const threshold = thresholdOf(text, kpi);
  const base: Slots = { line_code: lineOf(text), date_range: dateOf(text), kpi, threshold: threshold?.value };
  const result = (intent: Intent, confidence: number, slots: Slots): Classification => ({ intent, confidence, slots: compact(slots), lang, by: "rules" });

  const explain = EXPLAIN_EN.exec(text) ?? EXPLAIN_EN_AFTER.exec(text) ?? EXPLAIN_KO.exec(text);
  if (explain && clean(explain[1]!)) return result("explain_rule", 0.9, { rule: clean(explain[1]!) });

  const workflowEn = /\bworkflow\b/i.test(text) && WORKFLOW_EN.test(text);
  const workflowKo = WORKFLOW_KO.test(text) && RUN_KO.test(text);
  if (workflowEn || workflowKo) {
    const named = (workflowEn ? WORKFLOW_NAME_EN : WORKFLOW_NAME_KO).map((re) => re.exec(text)?.[1]).find(Boolean);
    const workflow = named ? clean(named.replace(/\bworkflow\b/i, "")) : undefined;
    // The workflow's input comes from these slots (chat-workflow.ts), read from the words around its name, not from it ("불량대응" says no KPI).
    const rest = named ? text.replace(named, " ") : text;
    const restKpi = kpiOf(rest);
    const slots = { line_code: lineOf(rest), date_range: dateOf(rest), kpi: restKpi, threshold: thresholdOf(rest, restKpi)?.value };
    return result("run_workflow", workflow ? 0.9 : 0.7, { ...slots, workflow: workflow || undefined });
  }

  if (CRITICAL.test(text) && !JUDGE.test(text)) {
    const listed = /judg|판단|판정|alert|알람|목록|리스트|list|show|보여|있었/i.test(text);
    return result("list_critical_judgments", listed ? 0.9 : 0.7, { line_code: base.line_code, date_range: base.date_range, kpi });
  }

  if (JUDGE.test(text)) {
    return result("run_judgment", kpi ? 0.9 : 0.7, { ...base, kpi: kpi ?? "defect_rate", value: valueOf(text, kpi ?? "defect_rate", threshold?.at) });
  }

  if (kpi === "defect_rate") return result("query_defect_rate", base.line_code ? 0.9 : 0.7, base);
  if (kpi === "oee") return result("check_oee", base.line_code ? 0.9 : 0.7, base);
  if (kpi) return result("query_kpi", base.line_code ? 0.9 : 0.7, base);
  return result("unknown", 0.2, {});
}

/** Slots without the ones not said. */
export function compact(slots: Slots): Slots {
  return Object.fromEntries(Object.entries(slots).filter(([, v]) => v !== undefined)) as Slots;
}
