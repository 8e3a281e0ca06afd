import { describe, expect, it } from "vitest";
import { dailyCountKey, dailyLimitKey } from "../../src/agent/quota";
import { utcDay } from "../../src/platform/daily-quota";
import { call, DEAD_ENDPOINT, expectProblem, roundTrips } from "./helpers";
import { operator, organization, provisioned, rawRedis } from "./agent-helpers";

const listSessions = (bearer: string, env?: Record<string, string>) => call("GET", "/api/v1/agent/sessions", { token: bearer, env });
const usedToday = async (orgId: string) => Number(await rawRedis.get(dailyCountKey(orgId, utcDay(Date.now()).day)));

describe("agent daily quota (max_daily_requests per organization and UTC day)", () => {
  it("lets exactly N of N + k concurrent requests through and refuses the rest with 429 until midnight UTC", async () => {
    const { orgId, admin } = await organization({ maxDailyRequests: 12 });
    const user = await provisioned(orgId, admin);
    const left = 12 - (await usedToday(orgId));
    expect(left).toBeGreaterThan(4);

    const results = await Promise.all(Array.from({ length: left + 6 }, () => listSessions(user.bearer)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(left);
    const refused = results.filter((r) => r.status === 429);
    expect(refused).toHaveLength(6);
    const untilMidnight = (utcDay(Date.now()).endsAt - Date.now()) / 1000;
    for (const r of refused) {
      expectProblem(r, 429, "daily_quota_exceeded");
      expect(r.body.limit).toBe(12);
      expect(Math.abs(Number(r.headers.get("Retry-After")) - untilMidnight)).toBeLessThan(10);
    }
    expect(await usedToday(orgId)).toBe(12 + 6);
    const ttl = await rawRedis.pttl(dailyCountKey(orgId, utcDay(Date.now()).day));
    expect(Math.abs(ttl - (utcDay(Date.now()).endsAt - Date.now()))).toBeLessThan(10_000);

    // The whole organization is out, admins included; another organization is not.
    expectProblem(await call("GET", `/api/v1/agent/organizations/${orgId}`, { token: admin.bearer }), 429, "daily_quota_exceeded");
    const other = await organization({ maxDailyRequests: 12 });
    expect((await listSessions(other.admin.bearer)).status).toBe(200);
  });

  it("applies a changed quota to the next request, and re-reads a lost limit from Postgres once", async () => {
    const { orgId, admin } = await organization({ maxDailyRequests: 3 });
    while ((await usedToday(orgId)) < 3) await listSessions(admin.bearer);
    expectProblem(await listSessions(admin.bearer), 429, "daily_quota_exceeded");

    // An operator raises it (the admin cannot: their requests are refused): write-through.
    const raised = await call("PATCH", `/api/v1/agent/organizations/${orgId}`, { token: await operator(), body: { maxDailyRequests: 100 } });
    expect(raised.status).toBe(200);
    const hit = await listSessions(admin.bearer);
    expect(hit.status).toBe(200);
    expect(await roundTrips(hit.requestId)).toMatchObject({ neon: 1 });

    await rawRedis.del(dailyLimitKey(orgId));
    const miss = await listSessions(admin.bearer);
    expect(miss.status).toBe(200);
    expect(await roundTrips(miss.requestId)).toMatchObject({ neon: 2 });
    expect(await rawRedis.get(dailyLimitKey(orgId))).toBe("100");
    expect(await rawRedis.ttl(dailyLimitKey(orgId))).toBeGreaterThan(0);
  });

  it("counts requests made with an API key toward the key's organization, like its user's tokens", async () => {
    const { orgId, admin } = await organization({ maxDailyRequests: 6 });
    const user = await provisioned(orgId, admin);
    const created = await call("POST", "/api/v1/agent/users/me/api-key", { token: user.bearer });
    expect(created.status).toBe(201);
    const withKey = { headers: { Authorization: `ApiKey ${created.body.apiKey}` } };
    const before = await usedToday(orgId);
    const results = await Promise.all(Array.from({ length: 6 }, () => call("GET", "/api/v1/agent/sessions", withKey)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(6 - before);
    for (const r of results.filter((r) => r.status !== 200)) expectProblem(r, 429, "daily_quota_exceeded");
    expectProblem(await listSessions(user.bearer), 429, "daily_quota_exceeded");
  });

  it("fails open while Redis is down (the platform's rule)", async () => {
    const { orgId, admin } = await organization({ maxDailyRequests: 2 });
    while ((await usedToday(orgId)) < 2) await listSessions(admin.bearer);
    expectProblem(await listSessions(admin.bearer), 429, "daily_quota_exceeded");
    const down = await listSessions(admin.bearer, { REDIS_URL: `${DEAD_ENDPOINT}/quota-down-${crypto.randomUUID()}` });
    expect(down.status).toBe(200);
  });
});

describe("agent per-user limit (§8.3)", () => {
  it("counts each user's requests in rate_limit:{user_id}:{minute} and refuses past the limit with 429", async () => {
    const { orgId, admin } = await organization();
    const user = await provisioned(orgId, admin);
    const env = { AGENT_USER_REQUESTS_PER_MINUTE: "3" };
    const minute = Math.floor(Date.now() / 60_000);
    const first = await listSessions(user.bearer, env);
    expect(first.status).toBe(200);
    const key = `rate_limit:${user.userId}:${minute}`;
    // A request that straddles a minute boundary lands in the next window's key.
    const stored = (await rawRedis.get(key)) ?? (await rawRedis.get(`rate_limit:${user.userId}:${minute + 1}`));
    expect(Number(stored)).toBe(1);
    const ttl = await rawRedis.ttl(key);
    expect(ttl === -2 || (ttl > 0 && ttl <= 60)).toBe(true);

    const before = await usedToday(orgId);
    const results = await Promise.all(Array.from({ length: 4 }, () => listSessions(user.bearer, env)));
    const refused = results.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(2);
    for (const r of refused) {
      expectProblem(r, 429, "user_rate_limited");
      expect(Number(r.headers.get("Retry-After"))).toBeGreaterThan(0);
      expect(Number(r.headers.get("Retry-After"))).toBeLessThanOrEqual(60);
    }
    // Refused by the minute limit: not counted toward the organization's day.
    expect(await usedToday(orgId)).toBe(before + results.filter((r) => r.status === 200).length);
    // Another user of the same organization has their own minute.
    expect((await listSessions(admin.bearer, env)).status).toBe(200);
  });
});
