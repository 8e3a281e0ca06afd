import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { runAs } from "../../src/platform/db";
import { loadConfig } from "../../src/platform/config";
import { classifyByRules, type Intent } from "../../src/factory/chat-intents";
import { llmCalls } from "../../src/factory/schema";
import { as, db, seedTenant, type FactoryUser } from "./factory-helpers";
import { openSession, say, utcDay } from "./factory-chat-helpers";
import { llmScenario } from "./factory-judgments-helpers";
import { roundTrips, testEnv } from "./helpers";

/** §8.3 intents: each in Korean and English, by the rules (LLM off) and by the configured LLM (the local OpenAI-protocol server). */

const LLM_CONFIDENCE = 0.97;
const monday = (offsetWeeks: number) => {
  const today = new Date(`${utcDay()}T00:00:00Z`);
  const back = (today.getUTCDay() + 6) % 7;
  return new Date(today.getTime() - (back - 7 * offsetWeeks) * 86_400_000).toISOString().slice(0, 10);
};
const plusDays = (iso: string, n: number) => new Date(Date.parse(`${iso}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const yesterday = { start: utcDay(-1), end: utcDay(-1) };

interface Case {
  intent: Intent;
  ko: string;
  en: string;
  /** The slots both the rules and the test LLM extract from both phrasings. */
  slots: Record<string, unknown>;
}

const CASES: Case[] = [
  { intent: "query_defect_rate", ko: "L01 불량률 어때?", en: "How is the defect rate on L01?", slots: { line_code: "L01", kpi: "defect_rate" } },
  { intent: "check_oee", ko: "어제 L02 OEE", en: "OEE of L02 yesterday", slots: { line_code: "L02", kpi: "oee", date_range: yesterday } },
  { intent: "list_critical_judgments", ko: "어제 심각 판단 보여줘", en: "show critical judgments from yesterday", slots: { date_range: yesterday } },
  { intent: "run_judgment", ko: "L01 불량률 7.3% 판단해줘", en: "judge L01 defect rate 7.3%", slots: { line_code: "L01", kpi: "defect_rate", value: 0.073 } },
  { intent: "run_workflow", ko: "불량대응 워크플로우 실행해줘", en: "run the defect workflow", slots: {} },
  { intent: "explain_rule", ko: "defect-basic 룰 설명해줘", en: "explain rule defect-basic", slots: { rule: "defect-basic" } },
  { intent: "unknown", ko: "안녕하세요", en: "hello there", slots: {} },
];
const WORKFLOW_NAMES: Record<string, string> = { ko: "불량대응", en: "defect" };

describe("intent rules (no LLM), Korean and English", () => {
  for (const c of CASES) {
    for (const lang of ["ko", "en"] as const) {
      it(`${c.intent} (${lang}): ${c[lang]}`, () => {
        const got = classifyByRules(c[lang]);
        expect(got.intent).toBe(c.intent);
        expect(got.lang).toBe(lang);
        expect(got.by).toBe("rules");
        const { date_range, ...rest } = c.slots;
        expect(got.slots).toMatchObject(rest);
        if (date_range) expect(got.slots.date_range).toEqual({ unit: "day", from: -1, to: -1 });
        if (c.intent === "run_workflow") expect(got.slots.workflow).toBe(WORKFLOW_NAMES[lang]);
        expect(got.confidence).toBe(c.intent === "unknown" ? 0.2 : 0.9);
      });
    }
  }

  it("reads relative dates in both languages (weeks start on Monday)", () => {
    const spec = (q: string) => classifyByRules(q).slots.date_range;
    expect(spec("오늘 L01 불량률")).toEqual({ unit: "day", from: 0, to: 0 });
    expect(spec("defect rate today on L01")).toEqual({ unit: "day", from: 0, to: 0 });
    expect(spec("어제 L01 불량률")).toEqual({ unit: "day", from: -1, to: -1 });
    expect(spec("그저께 L01 불량률")).toEqual({ unit: "day", from: -2, to: -2 });
    expect(spec("지난주 L01 불량률")).toEqual({ unit: "week", from: -1, to: -1 });
    expect(spec("L01 defect rate last week")).toEqual({ unit: "week", from: -1, to: -1 });
    expect(spec("이번 주 심각 판단")).toEqual({ unit: "week", from: 0, to: 0 });
    expect(spec("최근 3일 L01 불량률")).toEqual({ unit: "day", from: -2, to: 0 });
    expect(spec("L01 defect rate over the past 14 days")).toEqual({ unit: "day", from: -13, to: 0 });
    expect(spec("지난달 L01 OEE")).toEqual({ unit: "month", from: -1, to: -1 });
    expect(spec("defect rate on L01 between 2025-01-20 and 2025-01-26")).toEqual({ start: "2025-01-20", end: "2025-01-26" });
  });

  it("reads lines, thresholds and values as said (percent as a fraction)", () => {
    expect(classifyByRules("2라인 불량률 5% 넘은 적 있어?").slots).toEqual({ line_code: "L02", kpi: "defect_rate", threshold: 0.05 });
    expect(classifyByRules("what's the OEE of line 3 below 60%?").slots).toEqual({ line_code: "L03", kpi: "oee", threshold: 0.6 });
    expect(classifyByRules("L01 불량률 7.3% 판단해줘 목표 5%").slots).toEqual({ line_code: "L01", kpi: "defect_rate", value: 0.073, threshold: 0.05 });
    expect(classifyByRules("judge L03 defect rate 0.08 with target 0.05").slots).toEqual({ line_code: "L03", kpi: "defect_rate", value: 0.08, threshold: 0.05 });
    expect(classifyByRules("최근 3일 L01 사이클 타임")).toMatchObject({ intent: "query_kpi", slots: { kpi: "cycle_time_avg" } });
  });
});

describe("intents through POST /chat/messages", () => {
  let admin: FactoryUser;
  let session: string;
  beforeAll(async () => {
    ({ admin } = await seedTenant());
    session = await openSession(admin);
  });

  for (const c of CASES) {
    for (const lang of ["ko", "en"] as const) {
      for (const llm of [false, true]) {
        it(`${c.intent} (${lang}, LLM ${llm ? "on" : "off"}): ${c[lang]}`, async () => {
          const res = await say(admin, session, c[lang], { llm });
          expect(res.status, JSON.stringify(res.body)).toBe(201);
          const { intent, assistantMessage } = res.body;
          expect(intent).toMatchObject({ predictedIntent: c.intent, userQuery: c[lang], userId: admin.userId, tenantId: admin.tenantId });
          expect(intent.extractedSlots).toMatchObject(c.slots);
          if (c.intent === "run_workflow") expect(intent.extractedSlots.workflow).toBe(WORKFLOW_NAMES[lang]);
          expect(assistantMessage.metadata.classified_by).toBe(llm ? "llm" : "rules");
          expect(intent.confidence).toBe(llm ? (c.intent === "unknown" ? 0.3 : LLM_CONFIDENCE) : c.intent === "unknown" ? 0.2 : 0.9);
          // Answered in the language asked.
          expect(/[\uac00-\ud7a3]/.test(assistantMessage.content)).toBe(lang === "ko");
        });
      }
    }
  }

  it("resolves last week to Monday–Sunday, by the rules and by the LLM alike", async () => {
    const week = { start: monday(-1), end: plusDays(monday(-1), 6) };
    for (const llm of [false, true]) {
      const res = await say(admin, session, "L01 defect rate last week", { llm });
      expect(res.body.intent.extractedSlots.date_range).toEqual(week);
    }
  });

  it("uses the LLM's reading where the rules see nothing (품질 as the defect rate), and logs the call as a chat call", async () => {
    const off = await say(admin, session, "1번 라인 품질은 괜찮나요?", { llm: false });
    expect(off.body.intent.predictedIntent).toBe("unknown");
    const on = await say(admin, session, "1번 라인 품질은 괜찮나요?");
    expect(on.body.intent).toMatchObject({ predictedIntent: "query_defect_rate", confidence: LLM_CONFIDENCE, extractedSlots: { line_code: "L01", kpi: "defect_rate" } });
    expect(on.body.assistantMessage.metadata.llm).toMatchObject({ status: "ok", model: "gpt-4o", calls: 1, fell_back: null });
    const [calls] = await runAs(db, as(admin.tenantId, admin.userId), [db.select().from(llmCalls).where(eq(llmCalls.tenantId, admin.tenantId))] as const);
    const mine = calls.filter((call) => (call.metadata as Record<string, unknown>).intent_log_id === on.body.intent.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ callType: "chat", model: "gpt-4o", success: true, judgmentExecutionId: null });
    expect(mine[0]!.totalTokens).toBeGreaterThan(0);
    // Rules: one Postgres round trip for the whole turn; the LLM: the session read before the call, then the turn.
    expect((await roundTrips(off.requestId)).neon).toBe(1);
    expect((await roundTrips(on.requestId)).neon).toBe(2);
  });

  it("falls back to the rules when every model fails, and still records the failed calls", async () => {
    const content = `어제 L02 OEE ${llmScenario("gpt-4o=http_500 gpt-4o-mini=http_503")}`;
    const res = await say(admin, session, content);
    expect(res.status).toBe(201);
    expect(res.body.intent).toMatchObject({ predictedIntent: "check_oee", confidence: 0.9, extractedSlots: { line_code: "L02", kpi: "oee", date_range: yesterday } });
    expect(res.body.assistantMessage.metadata).toMatchObject({ classified_by: "rules", llm: { status: "llm_error", calls: 2 } });
    expect(res.body.assistantMessage.metadata.llm.fell_back).toMatch(/^the LLM gave no answer: HTTP 503/);
    const [calls] = await runAs(db, as(admin.tenantId, admin.userId), [db.select().from(llmCalls).where(eq(llmCalls.tenantId, admin.tenantId))] as const);
    const mine = calls.filter((call) => (call.metadata as Record<string, unknown>).intent_log_id === res.body.intent.id);
    expect(mine.map((call) => [call.model, call.success, call.callType])).toEqual(
      expect.arrayContaining([
        ["gpt-4o", false, "chat"],
        ["gpt-4o-mini", false, "chat"],
      ]),
    );
  });

  it("gives the LLM today in the tenant's time zone, and resolves the rules' dates in it too", async () => {
    const { admin: seoulAdmin } = await seedTenant({ settings: { timezone: "Asia/Seoul" } });
    const seoulSession = await openSession(seoulAdmin);
    const seoulToday = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Seoul" }).format(new Date());
    const marker = llmScenario("gpt-4o=good");
    const on = await say(seoulAdmin, seoulSession, `오늘 L01 불량률 ${marker}`);
    const scenario = /id=(\S+)/.exec(marker)![1];
    const origin = new URL(loadConfig(testEnv).FACTORY_LLM_BASE_URL!).origin;
    const recorded = (await (await fetch(`${origin}/__calls?scenario=${scenario}`)).json()) as { body: { messages: { role: string; content: string }[] } }[];
    expect(recorded[0]!.body.messages[0]!.content).toContain(`Today is ${seoulToday} (time zone Asia/Seoul)`);
    expect(on.body.assistantMessage.metadata.period).toMatchObject({ time_zone: "Asia/Seoul" });
    const off = await say(seoulAdmin, seoulSession, "오늘 L01 불량률", { llm: false });
    expect(off.body.intent.extractedSlots.date_range).toEqual({ start: seoulToday, end: seoulToday });
  });

  it("reads a time zone Postgres does not know as UTC (settings are free JSON)", async () => {
    const { admin: lost } = await seedTenant({ settings: { timezone: "Mars/Olympus_Mons" } });
    const id = await openSession(lost);
    for (const llm of [false, true]) {
      const res = await say(lost, id, "어제 L01 불량률", { llm });
      expect(res.status).toBe(201);
      expect(res.body.intent.extractedSlots.date_range).toEqual(yesterday);
      expect(res.body.assistantMessage.metadata.period.time_zone).toBe("UTC");
    }
  });
});
