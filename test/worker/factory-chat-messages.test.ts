import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { runAs } from "../../src/platform/db";
import { chatMessages, judgmentExecutions, rulesets } from "../../src/factory/schema";
import { as, db, seedTenant, seedUser, type FactoryUser } from "./factory-helpers";
import { openSession, parseSse, say, seedJudgment, utcDay } from "./factory-chat-helpers";
import { DEFECT_RATE_SCRIPT, seedRuleset } from "./factory-judgments-helpers";
import { call, expectProblem, roundTrips } from "./helpers";

/** What the assistant does for each intent, and the turn it stores (§8.2). */

const messagesOf = async (user: FactoryUser, sessionId: string) => {
  const [rows] = await runAs(db, as(user.tenantId, user.userId), [db.select().from(chatMessages).where(eq(chatMessages.sessionId, sessionId))] as const);
  return rows;
};

describe("POST /chat/messages: the turn", () => {
  it("stores the user's message and the assistant's with their intent, counts both, in one Postgres round trip (rules)", async () => {
    const { admin } = await seedTenant();
    const id = await openSession(admin);
    const first = await say(admin, id, "L01 불량률 어때?", { llm: false });
    expect(first.status).toBe(201);
    expect((await roundTrips(first.requestId)).neon).toBe(1);
    const { session, intent, userMessage, assistantMessage } = first.body;
    expect(userMessage).toMatchObject({ sessionId: id, role: "user", content: "L01 불량률 어때?", intentLogId: intent.id });
    expect(assistantMessage).toMatchObject({ sessionId: id, role: "assistant", intentLogId: intent.id, metadata: { action: { type: "kpi_summary" }, classified_by: "rules", intent_log_id: intent.id } });
    expect(new Date(assistantMessage.createdAt).getTime()).toBeGreaterThanOrEqual(new Date(userMessage.createdAt).getTime());
    expect(session).toMatchObject({ id, messageCount: 2, context: { last_intent: "query_defect_rate", last_slots: { line_code: "L01", kpi: "defect_rate" } } });
    expect(session.lastMessageAt).not.toBeNull();
    const second = await say(admin, id, "hello", { llm: false });
    expect(second.body.session.messageCount).toBe(4);
    expect(new Date(second.body.session.lastMessageAt).getTime()).toBeGreaterThan(new Date(session.lastMessageAt).getTime());

    const page1 = await call("GET", `/api/v1/factory/chat/sessions/${id}/messages?limit=3`, { token: admin.bearer });
    expect(page1.status).toBe(200);
    expect((await roundTrips(page1.requestId)).neon).toBe(1);
    expect(page1.body.items.map((m: { role: string; content: string }) => m.role)).toEqual(["user", "assistant", "user"]);
    const page2 = await call("GET", `/api/v1/factory/chat/sessions/${id}/messages?limit=3&cursor=${encodeURIComponent(page1.body.nextCursor)}`, { token: admin.bearer });
    expect(page2.body.items.map((m: { id: string }) => m.id)).toEqual([second.body.assistantMessage.id]);
    expect(page2.body.nextCursor).toBeNull();
  });

  it("refuses what is wrong (422 naming it) and an unknown session (404), writing nothing", async () => {
    const { admin } = await seedTenant();
    const id = await openSession(admin);
    for (const body of [{ sessionId: id, content: "   " }, { sessionId: id, content: "x".repeat(4001) }, { sessionId: "L01", content: "hi" }, { sessionId: id, content: "hi", role: "system" }, { sessionId: id, content: "hi", stream: "yes" }]) {
      const res = await call("POST", "/api/v1/factory/chat/messages", { token: admin.bearer, body });
      expectProblem(res, 422, "validation_failed");
    }
    for (const llm of [false, true]) expectProblem(await say(admin, crypto.randomUUID(), "L01 불량률 어때?", { llm }), 404, "not_found");
    expect(await messagesOf(admin, id)).toEqual([]);
  });

  it("streams the turn as server-sent events: intent, action, the reply in deltas, done with the stored turn", async () => {
    const { admin } = await seedTenant();
    await seedJudgment(admin, { line: "L03", metrics: { defect_rate: 0.09 }, result: "critical", daysAgo: 1, explanation: "불량률 0.09이 목표치의 150% 초과" });
    await seedJudgment(admin, { line: "L04", metrics: { defect_rate: 0.1 }, result: "critical", daysAgo: 1, explanation: "defect rate 0.1 far above target" });
    const id = await openSession(admin);
    const res = await say(admin, id, "show critical judgments from yesterday", { llm: false, stream: true });
    expect(res.status).toBe(201);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    const events = parseSse(res.body as string);
    expect(events.map((e) => e.event)).toEqual(["intent", "action", "delta", "delta", "delta", "done"]);
    expect(events.map((e) => e.id)).toEqual(["0", "1", "2", "3", "4", "5"]);
    expect(events[0]!.data).toMatchObject({ intent: "list_critical_judgments", confidence: 0.9, classifiedBy: "rules", slots: { date_range: { start: utcDay(-1), end: utcDay(-1) } } });
    expect(events[1]!.data).toEqual({ type: "list_critical_judgments" });
    const done = events.at(-1)!.data;
    const text = events.filter((e) => e.event === "delta").map((e) => e.data.text).join("");
    expect(text).toBe(done.assistantMessage.content);
    expect(text).toMatch(/^Critical judgments for .+: 2 \(newest 2 shown\):\n- .+ L04: defect rate 0.1 far above target\n- .+ L03: 불량률 0.09이 목표치의 150% 초과$/);
    const stored = await messagesOf(admin, id);
    expect(stored.find((m) => m.role === "assistant")?.content).toBe(text);
  });
});

describe("what the assistant does", () => {
  it("summarises a KPI over the period and line asked, counting values beyond a threshold said", async () => {
    const { admin } = await seedTenant();
    await seedJudgment(admin, { line: "L01", metrics: { defect_rate: 0.04, oee: 0.8 }, result: "normal", daysAgo: 1 });
    await seedJudgment(admin, { line: "L01", metrics: { defect_rate: 0.08, oee: 0.7 }, result: "critical", daysAgo: 1 });
    await seedJudgment(admin, { line: "L01", metrics: { defect_rate: 0.2 }, result: "critical", daysAgo: 3 });
    await seedJudgment(admin, { line: "L02", metrics: { defect_rate: 0.5, oee: 0.5 }, result: "critical", daysAgo: 1 });
    const id = await openSession(admin);
    const ko = await say(admin, id, "어제 L01 불량률 5% 넘은 적 있어?", { llm: false });
    expect(ko.body.assistantMessage.content).toBe(
      `L01 불량률 (${utcDay(-1)} ~ ${utcDay(-1)}): 판단 2건 중 값 2건, 평균 6.00% (최저 4.00%, 최고 8.00%). 최근 값 8.00% (critical). 결과: critical 1, warning 0, normal 1. 기준 5.00% 초과: 1건.`,
    );
    expect(ko.body.assistantMessage.metadata.data).toMatchObject({ kpi: "defect_rate", line_code: "L01", judgments: 2, with_value: 2, beyond_threshold: 1, critical: 1, normal: 1 });
    const en = await say(admin, id, "OEE of L01 yesterday", { llm: false });
    expect(en.body.assistantMessage.content).toBe(`OEE on L01, ${utcDay(-1)} ~ ${utcDay(-1)}: 2 of 2 judgments carry a value; average 75.00% (min 70.00%, max 80.00%). Latest 70.00% (critical). Results: 1 critical, 0 warning, 1 normal.`);
    // Default period: the last seven days, so the judgment of three days ago counts too.
    const week = await say(admin, id, "L01 불량률 어때?", { llm: false });
    expect(week.body.assistantMessage.metadata.data).toMatchObject({ judgments: 3, max: 0.2 });
    expect(week.body.assistantMessage.metadata.period).toEqual({ start: utcDay(-6), end: utcDay(0), time_zone: "UTC" });
    const none = await say(admin, id, "L09 defect rate today", { llm: false });
    expect(none.body.assistantMessage.content).toBe(`No judgments with a defect rate value on L09 for ${utcDay()} ~ ${utcDay()} (0 judgments).`);
  });

  it("lists no other tenant's judgments", async () => {
    const { admin } = await seedTenant();
    const { admin: other } = await seedTenant();
    await seedJudgment(other, { line: "L01", metrics: { defect_rate: 0.3 }, result: "critical", daysAgo: 0 });
    const id = await openSession(admin);
    const res = await say(admin, id, "show critical judgments today", { llm: false });
    expect(res.body.assistantMessage.content).toBe(`No critical judgments for ${utcDay()} ~ ${utcDay()}.`);
    const kpi = await say(admin, id, "L01 defect rate today", { llm: false });
    expect(kpi.body.assistantMessage.metadata.data.judgments).toBe(0);
  });

  it("explains a rule: the ruleset and its active script (entry, conditions, results)", async () => {
    const { admin } = await seedTenant();
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const [rows] = await runAs(db, as(admin.tenantId, admin.userId), [db.select({ name: rulesets.name }).from(rulesets).where(eq(rulesets.id, rulesetId))] as const);
    const name = rows[0]!.name;
    const id = await openSession(admin);
    for (const llm of [false, true]) {
      const res = await say(admin, id, `explain rule ${name}`, { llm });
      expect(res.body.intent.predictedIntent).toBe("explain_rule");
      expect(res.body.assistantMessage.content).toBe(
        `Ruleset ${name} (KPI defect_rate, quality): Active version 1, entry fn judge_defect_rate(metrics, context), ${DEFECT_RATE_SCRIPT.trimEnd().split("\n").length} lines. Conditions: defect_rate > target * 1.5, defect_rate > target * 1.2. Results: critical, normal, warning.`,
      );
      expect(res.body.assistantMessage.metadata.data.ruleset).toMatchObject({ id: rulesetId, name, active: { version: 1, compile_status: "compiled" } });
    }
    const ko = await say(admin, id, `${name} 룰 설명해줘`, { llm: false });
    expect(ko.body.assistantMessage.content).toContain(`룰셋 ${name} (KPI defect_rate, quality)`);
    const missing = await say(admin, id, "explain rule no-such-rules", { llm: false });
    expect(missing.body.assistantMessage.content).toBe('No ruleset is named "no-such-rules".');
  });

  it("runs a judgment with the tenant's active ruleset for the KPI (part 1's execute: a judgment row, source manual)", async () => {
    const { admin } = await seedTenant();
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const id = await openSession(admin);
    const res = await say(admin, id, "L01 불량률 7.3% 판단해줘 목표 5%", { llm: false });
    expect(res.status).toBe(201);
    const data = res.body.assistantMessage.metadata.data;
    expect(data).toMatchObject({ status: "judged", ruleset_id: rulesetId, result: "warning", confidence: 0.9, method_used: "rule_only", input_data: { line_code: "L01", metrics: { defect_rate: 0.073 }, context: { target_defect_rate: 0.05 } } });
    expect(res.body.assistantMessage.content).toMatch(/^룰셋 rules-.+로 판단했습니다: warning \(신뢰도 0\.9\)\. 불량률 0\.073이 목표치 0\.05의 120% 초과 \(판단 .+\)$/);
    const judgment = await call("GET", `/api/v1/factory/judgments/${data.judgment_id}`, { token: admin.bearer });
    expect(judgment.body).toMatchObject({ result: "warning", source: "manual", methodUsed: "rule_only", createdBy: admin.userId });
    // The turn's context read, the judgment's read and write (cold inputs cache), the turn.
    expect((await roundTrips(res.requestId)).neon).toBe(4);
    const en = await say(admin, id, "judge L02 defect rate 9%", { llm: true });
    expect(en.body.assistantMessage.metadata.data).toMatchObject({ status: "judged", result: "critical" });
    expect(en.body.assistantMessage.content).toMatch(/^Judged with ruleset rules-.+: critical \(confidence 1\)\./);
  });

  it("answers instead of judging when the value or the ruleset is missing, or the caller may not execute judgments", async () => {
    const { tenantId, admin } = await seedTenant();
    const id = await openSession(admin);
    const noRuleset = await say(admin, id, "judge L01 defect rate 7.3%", { llm: false });
    expect(noRuleset.body.assistantMessage.metadata.data).toEqual({ status: "no_ruleset", kpi: "defect_rate" });
    await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const noValue = await say(admin, id, "L01 불량률 판단해줘", { llm: false });
    expect(noValue.body.assistantMessage.metadata.data).toEqual({ status: "needs_value", kpi: "defect_rate" });
    // A viewer allowed to chat, not to execute judgments: told why, nothing judged.
    const viewer = await seedUser(tenantId, "viewer", { permissions: ["chat:*"] });
    const viewerSession = await openSession(viewer);
    const refused = await say(viewer, viewerSession, "judge L01 defect rate 7.3%", { llm: false });
    expect(refused.status).toBe(201);
    expect(refused.body.assistantMessage.metadata.data).toMatchObject({ status: "refused", code: "permission_missing" });
    expect(refused.body.assistantMessage.content).toMatch(/^The judgment was not run: .*judgment:execute/);
    const [judged] = await runAs(db, as(admin.tenantId, admin.userId), [db.select().from(judgmentExecutions).where(eq(judgmentExecutions.tenantId, tenantId))] as const);
    expect(judged).toEqual([]);
  });
});
