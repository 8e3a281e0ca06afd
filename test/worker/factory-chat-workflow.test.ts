import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { runAs } from "../../src/platform/db";
import { chatMessages, workflowInstances } from "../../src/factory/schema";
import { as, db, seedTenant, seedUser, type FactoryUser } from "./factory-helpers";
import { LLM_OFF, openSession, parseSse, say, utcDay } from "./factory-chat-helpers";
import { ended } from "./factory-workflow-helpers";
import { call, roundTrips } from "./helpers";

/**
 * run_workflow from chat (§8.2 "start a workflow"): the tenant's active version of the workflow
 * named starts through the execute route's code, with its input from the message's slots; every
 * refusal is answered and writes nothing but the turn. Rules and the LLM, Korean and English.
 */

const BASE = "/api/v1/factory/workflows";

/** Inputs the chat fills from slots (line_code, date_range, threshold by default), kpi constrained; one BI node over a global list, so it completes at once. */
const lineCheck = (name: string) => ({
  name,
  variables: {
    input: {
      line_code: { type: "string", required: true },
      date_range: { type: "object", required: true },
      threshold: { type: "number", default: 0.05 },
      kpi: { type: "string", enum: ["oee", "cycle_time_avg"] },
    },
    global: { lines: { type: "array", default: [{ line: "L01" }, { line: "L02" }] } },
  },
  nodes: [{ id: "count_lines", type: "BI", config: { source: "$.global.lines", aggregates: [{ name: "n", op: "count" }] } }],
});

/** POST /workflows (version 1, inactive), then activate unless told not to. */
async function defineWorkflow(admin: FactoryUser, name: string, activate = true): Promise<string> {
  const res = await call("POST", BASE, { token: admin.bearer, body: { name, dsl: lineCheck(name) } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  if (activate) expect((await call("POST", `${BASE}/${res.body.id}/activate`, { token: admin.bearer })).status).toBe(200);
  return res.body.id;
}

const instancesOf = async (admin: FactoryUser) => {
  const [rows] = await runAs(db, as(admin.tenantId, admin.userId), [db.select().from(workflowInstances).where(eq(workflowInstances.tenantId, admin.tenantId))] as const);
  return rows;
};
const neonTrips = async (requestId: string) => (await roundTrips(requestId)).neon;
const follow = (id: string) => `/api/v1/factory/workflows/instances/${id}`;

describe("POST /chat/messages: run_workflow starts the named workflow", () => {
  it("starts the active version (English, rules) with the slots as its input, says so, and the instance runs to COMPLETED: 3 round trips", async () => {
    const { admin } = await seedTenant();
    const v1 = await defineWorkflow(admin, "line-check");
    // A newer, inactive version of the name: the chat starts the active one.
    const v2 = await call("POST", `${BASE}/${v1}/versions`, { token: admin.bearer, body: { dsl: lineCheck("line-check") } });
    expect(v2.status).toBe(201);
    const session = await openSession(admin);
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const res = await call("POST", "/api/v1/factory/chat/messages", {
      token: admin.bearer,
      body: { sessionId: session, content: "run the line-check workflow for L01 yesterday" },
      env: LLM_OFF,
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    // The first read (session, workflow, permission, input), the execute route's batch, the turn.
    expect(await neonTrips(res.requestId)).toBe(3);
    const data = res.body.assistantMessage.metadata.data;
    const instanceId = data.instance_id as string;
    const yesterday = { start: utcDay(-1), end: utcDay(-1) };
    expect(data).toMatchObject({ status: "started", workflow: "line-check", instance_status: "PENDING", trigger_type: "manual", trace_id: traceId, follow: follow(instanceId), found: { id: v1, name: "line-check", version: 1 } });
    expect(data.input).toEqual({ line_code: "L01", date_range: yesterday, threshold: 0.05 });
    expect(res.body.assistantMessage.content).toBe(`Started workflow line-check (version 1): instance ${instanceId}, status PENDING. Follow it with GET ${follow(instanceId)}.`);
    expect(res.body.intent.extractedSlots).toEqual({ workflow: "line-check", line_code: "L01", date_range: yesterday });

    const [row] = await instancesOf(admin);
    expect(row).toMatchObject({ id: instanceId, workflowId: v1, triggerType: "manual", triggeredBy: admin.userId, traceId, inputContext: { line_code: "L01", date_range: yesterday, threshold: 0.05 } });
    expect(row!.metadata).toMatchObject({ source: "chat", chat_session_id: session, intent_log_id: res.body.intent.id, workflow_version: 1, workflow_active: true });
    const done = await ended(admin, instanceId);
    expect(done.status).toBe("COMPLETED");
    expect(done.logs.map((l: { nodeId: string; status: string }) => [l.nodeId, l.status])).toEqual([["count_lines", "COMPLETED"]]);
  });

  it("starts it from a Korean message read by the LLM, answering in Korean (the first read made for the rules' reading serves the LLM's: 3 round trips)", async () => {
    const { admin } = await seedTenant();
    const id = await defineWorkflow(admin, "line-check");
    const session = await openSession(admin);
    const res = await say(admin, session, "line-check 워크플로우 L02 어제 실행해줘", { llm: true });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.assistantMessage.metadata.classified_by).toBe("llm");
    expect(await neonTrips(res.requestId)).toBe(3);
    const data = res.body.assistantMessage.metadata.data;
    expect(data).toMatchObject({ status: "started", found: { id } });
    expect(res.body.assistantMessage.content).toBe(`워크플로우 line-check (버전 1)을(를) 시작했습니다. 인스턴스 ${data.instance_id}, 상태 PENDING. 진행 상황: GET ${follow(data.instance_id)}`);
    expect((await ended(admin, data.instance_id)).status).toBe("COMPLETED");
    expect((await instancesOf(admin)).map((r) => r.inputContext)).toEqual([{ line_code: "L02", date_range: { start: utcDay(-1), end: utcDay(-1) }, threshold: 0.05 }]);
  });

  it("re-reads the workflow when the LLM's reading differs from the rules' (one read more: 3 round trips for a refusal), and acts on the LLM's", async () => {
    const { admin } = await seedTenant();
    await defineWorkflow(admin, "line-check");
    const session = await openSession(admin);
    // The rules read the ISO date; the test LLM does not: by its reading date_range is missing.
    const res = await say(admin, session, "run the line-check workflow for L01 on 2025-01-20", { llm: true });
    expect(res.body.assistantMessage.metadata.classified_by).toBe("llm");
    expect(res.body.assistantMessage.metadata.data).toMatchObject({ status: "missing_input", missing: ["date_range"] });
    expect(await neonTrips(res.requestId)).toBe(3);
    expect(await instancesOf(admin)).toEqual([]);
  });

  it("says so when no workflow has the name (Korean and English), writing only the turn: 2 round trips", async () => {
    const { admin } = await seedTenant();
    const session = await openSession(admin);
    const en = await say(admin, session, "start the cooling workflow", { llm: false });
    expect(en.body.assistantMessage.content).toBe('No workflow is named "cooling". Nothing was started.');
    expect(en.body.assistantMessage.metadata.data).toEqual({ workflow: "cooling", status: "not_found" });
    expect(await neonTrips(en.requestId)).toBe(2);
    const ko = await say(admin, session, "냉각 워크플로우 실행해줘", { llm: false });
    expect(ko.body.assistantMessage.content).toBe('"냉각" 워크플로우를 찾지 못했습니다. 아무것도 시작하지 않았습니다.');
    expect(await instancesOf(admin)).toEqual([]);
    expect(ko.body.session.messageCount).toBe(4);
  });

  it("does not start a name with no active version (Korean and English)", async () => {
    const { admin } = await seedTenant();
    const id = await defineWorkflow(admin, "idle-check", false);
    const session = await openSession(admin);
    const en = await say(admin, session, "run the idle-check workflow for L01 yesterday", { llm: false });
    expect(en.body.assistantMessage.metadata.data).toEqual({ workflow: "idle-check", status: "inactive", found: { id, name: "idle-check", version: 1 } });
    expect(en.body.assistantMessage.content).toBe("Workflow idle-check has no active version (newest: version 1, inactive). Activate a version and ask again.");
    const ko = await say(admin, session, "idle-check 워크플로우 L01 어제 실행해줘", { llm: true });
    expect(ko.body.assistantMessage.content).toBe("워크플로우 idle-check에 활성 버전이 없습니다 (최신 버전 1, 비활성). 활성화한 뒤 다시 요청하세요.");
    expect(await instancesOf(admin)).toEqual([]);
  });

  it("lists the inputs missing, and names an input that does not fit, starting nothing (Korean and English)", async () => {
    const { admin } = await seedTenant();
    await defineWorkflow(admin, "line-check");
    const session = await openSession(admin);
    const en = await say(admin, session, "run the line-check workflow", { llm: false });
    expect(en.body.assistantMessage.metadata.data).toMatchObject({ status: "missing_input", missing: ["date_range", "line_code"], input: {} });
    expect(en.body.assistantMessage.content).toBe("Workflow line-check needs more input to start: date_range, line_code. Say it in the message (the chat fills the inputs line_code, date_range, kpi, threshold).");
    expect(await neonTrips(en.requestId)).toBe(2);
    const ko = await say(admin, session, "line-check 워크플로우 어제 실행해줘", { llm: false });
    expect(ko.body.assistantMessage.metadata.data).toMatchObject({ status: "missing_input", missing: ["line_code"] });
    expect(ko.body.assistantMessage.content).toMatch(/^워크플로우 line-check을\(를\) 시작하려면 입력이 더 필요합니다: line_code\./);
    // kpi is declared with an enum: the defect rate is not one of its values.
    const bad = await say(admin, session, "run the line-check workflow for L01 yesterday, defect rate above 5%", { llm: false });
    expect(bad.body.assistantMessage.metadata.data).toMatchObject({ status: "invalid_input", path: "input.kpi", message: 'must be one of ["oee", "cycle_time_avg"]' });
    expect(bad.body.assistantMessage.content).toBe('The input does not fit workflow line-check: input.kpi must be one of ["oee", "cycle_time_avg"]. Nothing was started.');
    expect(await instancesOf(admin)).toEqual([]);
  });

  it("refuses a user allowed to chat but not to execute workflows (the execute route's permission), writing only the turn", async () => {
    const { tenantId, admin } = await seedTenant();
    const id = await defineWorkflow(admin, "line-check");
    const viewer = await seedUser(tenantId, "viewer", { permissions: ["chat:*"] });
    const session = await openSession(viewer);
    for (const [content, text] of [
      ["run the line-check workflow for L01 yesterday", "You lack the workflow:execute permission, so workflow line-check was not started."],
      ["line-check 워크플로우 L01 어제 실행해줘", "워크플로우 line-check을(를) 시작할 권한(workflow:execute)이 없습니다. 시작하지 않았습니다."],
    ] as const) {
      const res = await say(viewer, session, content, { llm: false });
      expect(res.status).toBe(201);
      expect(res.body.assistantMessage.content).toBe(text);
      expect(res.body.assistantMessage.metadata.data).toMatchObject({ status: "refused", code: "permission_missing", permission: "workflow:execute" });
      expect(await neonTrips(res.requestId)).toBe(2);
    }
    // The execute route refuses the viewer the same way.
    const direct = await call("POST", `${BASE}/${id}/execute`, { token: viewer.bearer, body: { input: { line_code: "L01", date_range: {} } } });
    expect(direct.status).toBe(403);
    expect(direct.body).toMatchObject({ code: "permission_missing", permission: "workflow:execute" });
    expect(await instancesOf(admin)).toEqual([]);
  });

  it("starts nothing for an archived session (409, no turn either)", async () => {
    const { admin } = await seedTenant();
    await defineWorkflow(admin, "line-check");
    const session = await openSession(admin);
    expect((await call("PATCH", `/api/v1/factory/chat/sessions/${session}`, { token: admin.bearer, body: { status: "archived" } })).status).toBe(200);
    const res = await say(admin, session, "run the line-check workflow for L01 yesterday", { llm: false });
    expect(res.status).toBe(409);
    expect(await instancesOf(admin)).toEqual([]);
    const [messages] = await runAs(db, as(admin.tenantId, admin.userId), [db.select().from(chatMessages).where(eq(chatMessages.sessionId, session))] as const);
    expect(messages).toEqual([]);
  });

  it("streams the same turns: started, and refused", async () => {
    const { admin } = await seedTenant();
    await defineWorkflow(admin, "line-check");
    const session = await openSession(admin);
    const res = await say(admin, session, "run the line-check workflow for L03 today", { llm: false, stream: true });
    expect(res.status).toBe(201);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    const events = parseSse(res.body as string);
    expect(events.map((e) => e.event)).toEqual(["intent", "action", "delta", "done"]);
    expect(events[0]!.data).toMatchObject({ intent: "run_workflow", slots: { workflow: "line-check", line_code: "L03", date_range: { start: utcDay(), end: utcDay() } } });
    expect(events[1]!.data).toEqual({ type: "run_workflow" });
    const done = events[3]!.data;
    const instanceId = done.assistantMessage.metadata.data.instance_id;
    expect(events[2]!.data.text).toBe(`Started workflow line-check (version 1): instance ${instanceId}, status PENDING. Follow it with GET ${follow(instanceId)}.`);
    expect(done.assistantMessage.content).toBe(events[2]!.data.text);
    expect((await ended(admin, instanceId)).status).toBe("COMPLETED");

    const refused = await say(admin, session, "냉각 워크플로우 실행해줘", { llm: false, stream: true });
    const refusedEvents = parseSse(refused.body as string);
    expect(refusedEvents.map((e) => e.event)).toEqual(["intent", "action", "delta", "done"]);
    expect(refusedEvents[3]!.data.assistantMessage.metadata.data).toEqual({ workflow: "냉각", status: "not_found" });
    expect(await instancesOf(admin)).toHaveLength(1);
  });
});
