import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { runAs } from "../../src/platform/db";
import { chatMessages, chatSessions, intentLogs } from "../../src/factory/schema";
import { as, db, seedTenant, seedUser } from "./factory-helpers";
import { openSession, say } from "./factory-chat-helpers";
import { call, expectProblem, roundTrips } from "./helpers";

const base = "/api/v1/factory/chat";

describe("chat sessions (§8.1)", () => {
  it("opens, lists, reads, renames and archives a session, each in one Postgres round trip", async () => {
    const { admin } = await seedTenant();
    const created = await call("POST", `${base}/sessions`, { token: admin.bearer, body: { title: "라인 점검", context: { line: "L01" } } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ title: "라인 점검", status: "active", messageCount: 0, lastMessageAt: null, userId: admin.userId, tenantId: admin.tenantId, context: { line: "L01" } });
    expect((await roundTrips(created.requestId)).neon).toBe(1);
    const id = created.body.id;
    const untitled = await call("POST", `${base}/sessions`, { token: admin.bearer });
    expect(untitled.body.title).toBe("New Chat");

    const list = await call("GET", `${base}/sessions?limit=1`, { token: admin.bearer });
    expect(list.status).toBe(200);
    expect(list.body.items.map((s: { id: string }) => s.id)).toEqual([untitled.body.id]);
    const next = await call("GET", `${base}/sessions?limit=1&cursor=${encodeURIComponent(list.body.nextCursor)}`, { token: admin.bearer });
    expect(next.body.items.map((s: { id: string }) => s.id)).toEqual([id]);
    expect((await roundTrips(list.requestId)).neon).toBe(1);

    const renamed = await call("PATCH", `${base}/sessions/${id}`, { token: admin.bearer, body: { title: "L01 defects" } });
    expect(renamed.body).toMatchObject({ id, title: "L01 defects", status: "active" });
    const archived = await call("PATCH", `${base}/sessions/${id}`, { token: admin.bearer, body: { status: "archived" } });
    expect(archived.body.status).toBe("archived");
    expect((await roundTrips(archived.requestId)).neon).toBe(1);
    const onlyArchived = await call("GET", `${base}/sessions?status=archived`, { token: admin.bearer });
    expect(onlyArchived.body.items.map((s: { id: string }) => s.id)).toEqual([id]);

    const got = await call("GET", `${base}/sessions/${id}`, { token: admin.bearer });
    expect(got.body).toMatchObject({ id, title: "L01 defects", status: "archived" });
  });

  it("refuses a message to an archived session (409) writing nothing, and takes it again once reopened", async () => {
    const { admin } = await seedTenant();
    const id = await openSession(admin);
    await call("PATCH", `${base}/sessions/${id}`, { token: admin.bearer, body: { status: "archived" } });
    for (const llm of [false, true]) expectProblem(await say(admin, id, "L01 불량률 어때?", { llm }), 409, "session_archived");
    const [messages, intents] = await runAs(db, as(admin.tenantId, admin.userId), [
      db.select().from(chatMessages).where(eq(chatMessages.sessionId, id)),
      db.select().from(intentLogs).where(eq(intentLogs.userId, admin.userId)),
    ] as const);
    expect(messages).toEqual([]);
    expect(intents).toEqual([]);
    await call("PATCH", `${base}/sessions/${id}`, { token: admin.bearer, body: { status: "active" } });
    expect((await say(admin, id, "L01 불량률 어때?", { llm: false })).status).toBe(201);
  });

  it("deletes a session: status deleted, gone from every route", async () => {
    const { admin } = await seedTenant();
    const id = await openSession(admin);
    await say(admin, id, "hello", { llm: false });
    const deleted = await call("DELETE", `${base}/sessions/${id}`, { token: admin.bearer });
    expect(deleted.status).toBe(204);
    expect((await roundTrips(deleted.requestId)).neon).toBe(1);
    expectProblem(await call("GET", `${base}/sessions/${id}`, { token: admin.bearer }), 404, "not_found");
    expectProblem(await call("GET", `${base}/sessions/${id}/messages`, { token: admin.bearer }), 404, "not_found");
    expectProblem(await call("PATCH", `${base}/sessions/${id}`, { token: admin.bearer, body: { status: "active" } }), 404, "not_found");
    expectProblem(await call("DELETE", `${base}/sessions/${id}`, { token: admin.bearer }), 404, "not_found");
    for (const llm of [false, true]) expectProblem(await say(admin, id, "hello", { llm }), 404, "not_found");
    expect((await call("GET", `${base}/sessions`, { token: admin.bearer })).body.items).toEqual([]);
    const [rows] = await runAs(db, as(admin.tenantId, admin.userId), [db.select().from(chatSessions).where(eq(chatSessions.id, id))] as const);
    expect(rows[0]).toMatchObject({ status: "deleted", messageCount: 2 });
  });

  it("keeps sessions to their user: another user of the tenant and another tenant see nothing", async () => {
    const { tenantId, admin } = await seedTenant();
    const colleague = await seedUser(tenantId, "admin");
    const { admin: stranger } = await seedTenant();
    const id = await openSession(admin);
    const sent = await say(admin, id, "L01 불량률 어때?", { llm: false });
    for (const other of [colleague, stranger]) {
      expectProblem(await call("GET", `${base}/sessions/${id}`, { token: other.bearer }), 404, "not_found");
      expectProblem(await call("GET", `${base}/sessions/${id}/messages`, { token: other.bearer }), 404, "not_found");
      expectProblem(await call("PATCH", `${base}/sessions/${id}`, { token: other.bearer, body: { title: "mine" } }), 404, "not_found");
      expectProblem(await call("DELETE", `${base}/sessions/${id}`, { token: other.bearer }), 404, "not_found");
      expectProblem(await say(other, id, "hello", { llm: false }), 404, "not_found");
      expectProblem(await call("POST", `${base}/intents/${sent.body.intent.id}/feedback`, { token: other.bearer, body: { feedbackScore: 1 } }), 404, "not_found");
      expect((await call("GET", `${base}/sessions`, { token: other.bearer })).body.items).toEqual([]);
    }
    const mine = await call("GET", `${base}/sessions/${id}`, { token: admin.bearer });
    expect(mine.body).toMatchObject({ title: "New Chat", messageCount: 2 });
  });

  it("names what is wrong with a body (422) and refuses roles without chat permissions (403 naming it)", async () => {
    const { tenantId, admin } = await seedTenant();
    expectProblem(await call("POST", `${base}/sessions`, { token: admin.bearer, body: { title: "" } }), 422, "validation_failed");
    expectProblem(await call("POST", `${base}/sessions`, { token: admin.bearer, body: { title: "x", owner: "me" } }), 422, "validation_failed");
    const id = await openSession(admin);
    const bad = await call("PATCH", `${base}/sessions/${id}`, { token: admin.bearer, body: { status: "deleted" } });
    expectProblem(bad, 422, "validation_failed");
    expect(JSON.stringify(bad.body.errors)).toContain("status");
    const operator = await seedUser(tenantId, "operator");
    const refused = await call("POST", `${base}/sessions`, { token: operator.bearer, body: {} });
    expectProblem(refused, 403, "permission_missing");
    expect(refused.body.permission).toBe("chat:create");
    const widened = await seedUser(tenantId, "operator", { permissions: ["chat:*"] });
    expect((await call("POST", `${base}/sessions`, { token: widened.bearer, body: {} })).status).toBe(201);
  });
});

describe("intent feedback (§8.3 feedback_score)", () => {
  it("scores the caller's intent 1–5 with a comment, a new score replacing the last, in one round trip", async () => {
    const { admin } = await seedTenant();
    const id = await openSession(admin);
    const sent = await say(admin, id, "어제 L02 OEE", { llm: false });
    const intentId = sent.body.intent.id;
    const scored = await call("POST", `${base}/intents/${intentId}/feedback`, { token: admin.bearer, body: { feedbackScore: 2, feedbackComment: "L02 맞지만 기간이 틀림" } });
    expect(scored.status).toBe(200);
    expect(scored.body).toMatchObject({ id: intentId, feedbackScore: 2, feedbackComment: "L02 맞지만 기간이 틀림", predictedIntent: "check_oee" });
    expect((await roundTrips(scored.requestId)).neon).toBe(1);
    const again = await call("POST", `${base}/intents/${intentId}/feedback`, { token: admin.bearer, body: { feedbackScore: 5 } });
    expect(again.body).toMatchObject({ feedbackScore: 5, feedbackComment: null });
    for (const score of [0, 6, 2.5]) expectProblem(await call("POST", `${base}/intents/${intentId}/feedback`, { token: admin.bearer, body: { feedbackScore: score } }), 422, "validation_failed");
    expectProblem(await call("POST", `${base}/intents/${crypto.randomUUID()}/feedback`, { token: admin.bearer, body: { feedbackScore: 3 } }), 404, "not_found");
  });
});
