import { describe, expect, it } from "vitest";
import { apiKeyCacheKey, hashApiKey } from "../../src/agent/api-keys";
import { call, DEAD_ENDPOINT, expectProblem, roundTrips } from "./helpers";
import { member, organization, provisioned, rawRedis } from "./agent-helpers";

const withKey = (key: string) => ({ headers: { Authorization: `ApiKey ${key}` } });

async function keyFor(bearer: string): Promise<string> {
  const res = await call("POST", "/api/v1/agent/users/me/api-key", { token: bearer });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.apiKey).toMatch(/^agk_[A-Za-z0-9_-]{43}$/);
  return res.body.apiKey;
}

describe("agent API keys", () => {
  it("authenticate agent routes as their user, from Redis: no Postgres round trip for the key", async () => {
    const { orgId, admin } = await organization();
    const user = await provisioned(orgId, admin);
    const created = await call("POST", "/api/v1/agent/users/me/api-key", { token: user.bearer });
    expect(await roundTrips(created.requestId)).toMatchObject({ neon: 1 });
    const key: string = created.body.apiKey;

    // Only the hash is stored: in Postgres (users.api_key_hash) and as the cache key.
    const hash = await hashApiKey(key);
    expect(JSON.parse((await rawRedis.get<string>(apiKeyCacheKey(hash)))!)).toEqual({ userId: user.userId, organizationId: orgId, role: "user" });

    const me = await call("GET", "/api/v1/agent/users/me", withKey(key));
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(user.userId);
    // RFC 9110: the scheme name is case-insensitive.
    expect((await call("GET", "/api/v1/agent/users/me", { headers: { Authorization: `apikey ${key}` } })).status).toBe(200);
    expect(await roundTrips(me.requestId)).toMatchObject({ neon: 1 });
    const session = await call("POST", "/api/v1/agent/sessions", { ...withKey(key), body: { initialInput: "from an executor" } });
    expect(session.status).toBe(201);
    expect(session.body.userId).toBe(user.userId);
  });

  it("stop working at once when rotated or revoked", async () => {
    const { orgId, admin } = await organization();
    const user = await provisioned(orgId, admin);
    const first = await keyFor(user.bearer);
    expect((await call("GET", "/api/v1/agent/users/me", withKey(first))).status).toBe(200);

    const second = await keyFor(user.bearer);
    expectProblem(await call("GET", "/api/v1/agent/users/me", withKey(first)), 401, "invalid_api_key");
    expect((await call("GET", "/api/v1/agent/users/me", withKey(second))).status).toBe(200);

    const revoked = await call("DELETE", "/api/v1/agent/users/me/api-key", { token: user.bearer });
    expect(revoked.status).toBe(204);
    expect(await roundTrips(revoked.requestId)).toMatchObject({ neon: 1 });
    const refused = await call("GET", "/api/v1/agent/users/me", withKey(second));
    expectProblem(refused, 401, "invalid_api_key");
    expect(refused.headers.get("WWW-Authenticate")).toContain("ApiKey");
    expect(await rawRedis.exists(apiKeyCacheKey(await hashApiKey(second)))).toBe(0);
  });

  it("act with their user's current role and status: an admin's change applies on the next request", async () => {
    const { orgId, admin } = await organization();
    const user = await provisioned(orgId, admin);
    const key = await keyFor(user.bearer);
    expect((await call("POST", "/api/v1/agent/sessions", withKey(key))).status).toBe(201);
    await call("PATCH", `/api/v1/agent/users/${user.userId}`, { token: admin.bearer, body: { role: "viewer" } });
    expectProblem(await call("POST", "/api/v1/agent/sessions", withKey(key)), 403, "agent_role_required");
    await call("PATCH", `/api/v1/agent/users/${user.userId}`, { token: admin.bearer, body: { isActive: false } });
    expectProblem(await call("GET", "/api/v1/agent/users/me", withKey(key)), 401, "invalid_api_key");
  });

  it("are looked up in Postgres on a cache miss or with Redis down, then cached again", async () => {
    const { orgId, admin } = await organization();
    const user = await provisioned(orgId, admin);
    const key = await keyFor(user.bearer);
    const cacheKey = apiKeyCacheKey(await hashApiKey(key));
    // Even a fresh key's entry lives 5 minutes at most: what bounds a revocation Redis could not see.
    expect(await rawRedis.ttl(cacheKey)).toBeGreaterThan(0);
    expect(await rawRedis.ttl(cacheKey)).toBeLessThanOrEqual(300);
    await rawRedis.del(cacheKey);
    const miss = await call("GET", "/api/v1/agent/users/me", withKey(key));
    expect(miss.status).toBe(200);
    expect(await roundTrips(miss.requestId)).toMatchObject({ neon: 2 });
    expect(await rawRedis.ttl(cacheKey)).toBeGreaterThan(0);
    expect(await rawRedis.ttl(cacheKey)).toBeLessThanOrEqual(300);

    const down = await call("GET", "/api/v1/agent/users/me", { ...withKey(key), env: { REDIS_URL: `${DEAD_ENDPOINT}/keys-down-${crypto.randomUUID()}` } });
    expect(down.status).toBe(200);
    expect(down.body.id).toBe(user.userId);
  });

  it("are refused outside the agent system, for minting keys, and when malformed or unknown", async () => {
    const { orgId, admin } = await organization();
    const user = await provisioned(orgId, admin);
    const key = await keyFor(user.bearer);
    expectProblem(await call("GET", "/api/v1/me", withKey(key)), 401, "invalid_token");
    expectProblem(await call("GET", "/api/v1/exam/profile", withKey(key)), 401, "invalid_token");
    expectProblem(await call("POST", "/api/v1/agent/users/me/api-key", withKey(key)), 403, "token_required");
    expectProblem(await call("DELETE", "/api/v1/agent/users/me/api-key", withKey(key)), 403, "token_required");
    expectProblem(await call("GET", "/api/v1/agent/users/me", withKey("agk_short")), 401, "invalid_api_key");
    const unknown = await call("GET", "/api/v1/agent/users/me", withKey(`agk_${"A".repeat(43)}`));
    expectProblem(unknown, 401, "invalid_api_key");
    expectProblem(await call("POST", "/api/v1/agent/users/me/api-key", { token: (await member(orgId)).bearer }), 409, "user_not_provisioned");
  });
});
