import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import worker from "../../functions/worker";
import { SERVICE_PRINCIPAL } from "../../src/agent/jobs";
import { sessions } from "../../src/agent/schema";
import { runAs } from "../../src/platform/db";
import { EVERY_MINUTE } from "../../src/platform/system";
import { call, DEAD_ENDPOINT, expectProblem, roundTrips, testEnv } from "./helpers";
import { db, member, organization, provisioned, rawRedis, storedHash } from "./agent-helpers";

const start = (bearer: string, body?: unknown) => call("POST", "/api/v1/agent/sessions", { token: bearer, body });

describe("agent sessions", () => {
  it("are created with initial_input and language, expire in 24 h by default, and cached as §8.1's hash", async () => {
    const { orgId, admin } = await organization();
    const user = await provisioned(orgId, admin);
    const created = await start(user.bearer, { initialInput: "Plan the Q3 report", language: "en" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ userId: user.userId, organizationId: orgId, status: "active", language: "en", initialInput: "Plan the Q3 report", currentContext: {} });
    const lifetime = Date.parse(created.body.expiresAt) - Date.parse(created.body.createdAt);
    expect(Math.abs(lifetime - 86_400_000)).toBeLessThan(1000);
    expect(await roundTrips(created.requestId)).toMatchObject({ neon: 1 });

    const key = `session:${created.body.id}`;
    expect(await storedHash(key)).toEqual({
      user_id: user.userId,
      status: "active",
      language: "en",
      current_context: "{}",
      created_at: created.body.createdAt,
    });
    const ttl = await rawRedis.ttl(key);
    expect(ttl).toBeGreaterThan(86_300);
    expect(ttl).toBeLessThanOrEqual(86_400);

    const defaults = await start(user.bearer);
    expect(defaults.body.language).toBe("KOR");
    const short = await start(user.bearer, { expiresInSeconds: 600 });
    expect(Date.parse(short.body.expiresAt) - Date.parse(short.body.createdAt)).toBeLessThan(601_000);
    expectProblem(await start(user.bearer, { language: "12" }), 422, "validation_failed");
    expectProblem(await start(user.bearer, { expiresInSeconds: 5 }), 422, "validation_failed");
  });

  it("are read from the hash with zero Postgres round trips, and from Postgres (refilling it) on a miss", async () => {
    const { orgId, admin } = await organization();
    const user = await provisioned(orgId, admin);
    const { body: s } = await start(user.bearer, { language: "en" });
    const hit = await call("GET", `/api/v1/agent/sessions/${s.id}`, { token: user.bearer });
    expect(hit.status).toBe(200);
    expect(hit.body).toEqual({ id: s.id, userId: user.userId, status: "active", language: "en", currentContext: {}, createdAt: s.createdAt });
    expect(await roundTrips(hit.requestId)).toMatchObject({ neon: 0 });

    await rawRedis.del(`session:${s.id}`);
    const miss = await call("GET", `/api/v1/agent/sessions/${s.id}`, { token: user.bearer });
    expect(miss.body).toEqual(hit.body);
    expect(await roundTrips(miss.requestId)).toMatchObject({ neon: 1 });
    expect((await storedHash(`session:${s.id}`))?.status).toBe("active");
    expect(await roundTrips((await call("GET", `/api/v1/agent/sessions/${s.id}`, { token: user.bearer })).requestId)).toMatchObject({ neon: 0 });
  });

  it("merge context and complete, keeping the hash right after every write", async () => {
    const { orgId, admin } = await organization();
    const user = await provisioned(orgId, admin);
    const { body: s } = await start(user.bearer);
    const path = `/api/v1/agent/sessions/${s.id}`;
    const first = await call("PATCH", `${path}/context`, { token: user.bearer, body: { step: 1, goal: { metric: "revenue" } } });
    expect(first.status).toBe(200);
    expect(await roundTrips(first.requestId)).toMatchObject({ neon: 1 });
    const second = await call("PATCH", `${path}/context`, { token: user.bearer, body: { step: 2, notes: "draft" } });
    expect(second.body.currentContext).toEqual({ step: 2, goal: { metric: "revenue" }, notes: "draft" });
    expect(JSON.parse((await storedHash(`session:${s.id}`))!.current_context!)).toEqual(second.body.currentContext);
    expect((await call("GET", path, { token: user.bearer })).body.currentContext).toEqual(second.body.currentContext);
    expectProblem(await call("PATCH", `${path}/context`, { token: user.bearer, body: {} }), 422, "validation_failed");

    const done = await call("POST", `${path}/complete`, { token: user.bearer });
    expect(done.body.status).toBe("completed");
    expect(await roundTrips(done.requestId)).toMatchObject({ neon: 1 });
    expect((await storedHash(`session:${s.id}`))?.status).toBe("completed");
    const again = await call("POST", `${path}/complete`, { token: user.bearer });
    expectProblem(again, 409, "invalid_state");
    expect(again.body.currentStatus).toBe("completed");
    expectProblem(await call("PATCH", `${path}/context`, { token: user.bearer, body: { step: 3 } }), 409, "invalid_state");
  });

  it("refuse a merge that would grow the context past 256 KiB, writing nothing", async () => {
    const { orgId, admin } = await organization();
    const user = await provisioned(orgId, admin);
    const { body: s } = await start(user.bearer);
    const chunk = "x".repeat(60_000);
    for (const k of ["a", "b", "c", "d"]) expect((await call("PATCH", `/api/v1/agent/sessions/${s.id}/context`, { token: user.bearer, body: { [k]: chunk } })).status).toBe(200);
    const refused = await call("PATCH", `/api/v1/agent/sessions/${s.id}/context`, { token: user.bearer, body: { e: chunk } });
    expectProblem(refused, 422, "validation_failed");
    expect(refused.body.errors[0].path).toBe("json");
    expect(Object.keys((await call("GET", `/api/v1/agent/sessions/${s.id}`, { token: user.bearer })).body.currentContext)).toEqual(["a", "b", "c", "d"]);
  });

  it("are listed: the caller's own, by status, newest first, through keyset pages", async () => {
    const { orgId, admin } = await organization();
    const user = await provisioned(orgId, admin);
    const other = await provisioned(orgId, admin);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await start(user.bearer, { initialInput: `s${i}` })).body.id);
    await start(other.bearer);
    await call("POST", `/api/v1/agent/sessions/${ids[0]}/complete`, { token: user.bearer });

    const page1 = await call("GET", "/api/v1/agent/sessions?limit=2", { token: user.bearer });
    expect(await roundTrips(page1.requestId)).toMatchObject({ neon: 1 });
    const page2 = await call("GET", `/api/v1/agent/sessions?limit=2&cursor=${page1.body.nextCursor}`, { token: user.bearer });
    expect([...page1.body.items, ...page2.body.items].map((s: { id: string }) => s.id)).toEqual([...ids].reverse());
    expect(page2.body.nextCursor).toBeNull();
    const active = await call("GET", "/api/v1/agent/sessions?status=active", { token: user.bearer });
    expect(active.body.items.map((s: { id: string }) => s.id)).toEqual([ids[2], ids[1]]);
    const completed = await call("GET", "/api/v1/agent/sessions?status=completed", { token: user.bearer });
    expect(completed.body.items.map((s: { id: string }) => s.id)).toEqual([ids[0]]);
    expectProblem(await call("GET", "/api/v1/agent/sessions?status=paused", { token: user.bearer }), 422, "validation_failed");
    expectProblem(await call("GET", "/api/v1/agent/sessions?cursor=bogus", { token: user.bearer }), 422, "validation_failed");
  });

  it("are read by their owner and the organization's managers, admins and viewers, changed by their owner only", async () => {
    const { orgId, admin } = await organization();
    const owner = await provisioned(orgId, admin);
    const peer = await provisioned(orgId, admin);
    const manager = await provisioned(orgId, admin, ["manager"]);
    const viewer = await provisioned(orgId, admin, ["viewer"]);
    const { body: s } = await start(owner.bearer);
    const path = `/api/v1/agent/sessions/${s.id}`;

    expectProblem(await call("GET", path, { token: peer.bearer }), 404, "not_found");
    for (const reader of [manager, viewer, admin]) {
      const read = await call("GET", path, { token: reader.bearer });
      expect(read.body.userId).toBe(owner.userId);
      expect(await roundTrips(read.requestId)).toMatchObject({ neon: 1 });
    }
    expectProblem(await call("PATCH", `${path}/context`, { token: manager.bearer, body: { x: 1 } }), 403, "not_session_owner");
    expectProblem(await call("POST", `${path}/complete`, { token: peer.bearer }), 404, "not_found");
    expectProblem(await call("POST", `${path}/complete`, { token: viewer.bearer }), 403, "agent_role_required");
    expectProblem(await start(viewer.bearer), 403, "agent_role_required");

    const outsider = (await organization()).admin;
    expectProblem(await call("GET", path, { token: outsider.bearer }), 404, "not_found");
    expectProblem(await call("POST", `${path}/complete`, { token: outsider.bearer }), 404, "not_found");
    expectProblem(await start((await member(orgId)).bearer), 409, "user_not_provisioned");
    expectProblem(await call("GET", `/api/v1/agent/sessions/${crypto.randomUUID()}`, { token: owner.bearer }), 404, "not_found");
  });

  it("are served from Postgres while Redis is down", async () => {
    const { orgId, admin } = await organization();
    const user = await provisioned(orgId, admin);
    const env = { REDIS_URL: `${DEAD_ENDPOINT}/sessions-down-${crypto.randomUUID()}` };
    const created = await call("POST", "/api/v1/agent/sessions", { token: user.bearer, body: { language: "en" }, env });
    expect(created.status).toBe(201);
    const merged = await call("PATCH", `/api/v1/agent/sessions/${created.body.id}/context`, { token: user.bearer, body: { k: "v" }, env });
    expect(merged.status).toBe(200);
    const read = await call("GET", `/api/v1/agent/sessions/${created.body.id}`, { token: user.bearer, env });
    expect(read.status).toBe(200);
    expect(read.body.currentContext).toEqual({ k: "v" });
    expect(await roundTrips(read.requestId)).toMatchObject({ neon: 1 });
  });

  it("expire by the every-minute cron once past expires_at, and their hash goes with it", async () => {
    const { orgId, admin } = await organization();
    const user = await provisioned(orgId, admin);
    const { body: due } = await start(user.bearer);
    const { body: fresh } = await start(user.bearer);
    await runAs(db, SERVICE_PRINCIPAL, [db.update(sessions).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(sessions.id, due.id))] as const);
    expect((await call("GET", `/api/v1/agent/sessions/${due.id}`, { token: user.bearer })).body.status).toBe("active");

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: EVERY_MINUTE, scheduledTime: Date.now() }), testEnv as never, ctx);
    await waitOnExecutionContext(ctx);

    expect(await rawRedis.exists(`session:${due.id}`)).toBe(0);
    const expired = await call("GET", `/api/v1/agent/sessions/${due.id}`, { token: user.bearer });
    expect(expired.body.status).toBe("expired");
    expect((await call("GET", `/api/v1/agent/sessions/${fresh.id}`, { token: user.bearer })).body.status).toBe("active");
    expectProblem(await call("PATCH", `/api/v1/agent/sessions/${due.id}/context`, { token: user.bearer, body: { late: true } }), 409, "invalid_state");
  });
});
