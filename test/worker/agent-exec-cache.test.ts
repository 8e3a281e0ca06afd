import { describe, expect, it } from "vitest";
import { inputHash } from "../../src/platform/canonical-json";
import { call, DEAD_ENDPOINT, expectProblem, roundTrips } from "./helpers";
import { operator, organization, provisioned, rawRedis } from "./agent-helpers";

const TOOLS = "/api/v1/agent/tools";
const CACHE = "/api/v1/agent/exec-cache";
const uniqueName = (prefix = "cached") => `${prefix}_${crypto.randomUUID().slice(0, 8)}`;
const newTool = async (bearer: string, over: Record<string, unknown> = {}) => {
  const res = await call("POST", TOOLS, { token: bearer, body: { name: uniqueName(), type: "data", layer: "data", executorClass: "executors.Sql", ...over } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; name: string; version: string };
};
const output = { resultData: { rows: [{ n: 1 }] }, executionTimeMs: 40, tokensUsed: 12, apiCallsCount: 1, completedAt: "2026-01-05T10:00:00.000Z" };
const store = (bearer: string, toolName: string, params: unknown, result: unknown = output, env?: Record<string, string>) =>
  call("POST", CACHE, { token: bearer, body: { toolName, params, result }, env });
const lookup = (bearer: string, toolName: string, params: unknown, env?: Record<string, string>) =>
  call("POST", `${CACHE}/lookup`, { token: bearer, body: { toolName, params }, env });

describe("agent execution cache (§8.2)", () => {
  it("stores the ExecutionResult JSON at exec_cache:{tool_name}:{input_hash} for 1 h, and a lookup hits with zero Postgres round trips", async () => {
    const { orgId, admin } = await organization();
    const tool = await newTool(admin.bearer);
    const executor = await provisioned(orgId, admin, ["user"]);
    const params = { q: "select 1", limit: 1.5 };
    const hash = await inputHash(params);
    const key = `exec_cache:${tool.name}:${hash}`;

    const stored = await store(executor.bearer, tool.name, params);
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({ stored: true, key, inputHash: hash, ttlSeconds: 3600 });
    expect(await roundTrips(stored.requestId)).toMatchObject({ neon: 1 });
    const raw = JSON.parse((await rawRedis.get(key)) as string);
    expect(raw).toEqual({ toolName: tool.name, toolVersion: "1.0.0", inputHash: hash, organizationId: orgId, success: true, outputPath: null, ...output });
    const ttl = await rawRedis.ttl(key);
    expect(ttl).toBeGreaterThan(3590);
    expect(ttl).toBeLessThanOrEqual(3600);

    // Key order and number spelling do not matter (RFC 8785).
    const hit = await lookup(executor.bearer, tool.name, { limit: 1.50, q: "select 1" });
    expect(hit.status).toBe(200);
    expect(hit.body).toEqual({ hit: true, key, inputHash: hash, result: raw });
    expect(await roundTrips(hit.requestId)).toMatchObject({ neon: 0 });

    const miss = await lookup(executor.bearer, tool.name, { q: "select 2", limit: 1.5 });
    expect(miss.body).toMatchObject({ hit: false, result: null, inputHash: await inputHash({ q: "select 2", limit: 1.5 }) });
    expect(await roundTrips(miss.requestId)).toMatchObject({ neon: 0 });

    // Viewers may look up (a read) but not store.
    const viewer = await provisioned(orgId, admin, ["viewer"]);
    expect((await lookup(viewer.bearer, tool.name, params)).body.hit).toBe(true);
    expectProblem(await store(viewer.bearer, tool.name, params), 403, "agent_role_required");
  });

  it("serves an executor's API key: a hit still makes zero Postgres round trips", async () => {
    const { orgId, admin } = await organization();
    const tool = await newTool(admin.bearer);
    const executor = await provisioned(orgId, admin, ["user"]);
    const { body: key } = await call("POST", "/api/v1/agent/users/me/api-key", { token: executor.bearer });
    const headers = { Authorization: `ApiKey ${key.apiKey}` };
    const stored = await call("POST", CACHE, { headers, body: { toolName: tool.name, params: { q: 1 }, result: output } });
    expect(stored.body.result.organizationId).toBe(orgId);
    const hit = await call("POST", `${CACHE}/lookup`, { headers, body: { toolName: tool.name, params: { q: 1 } } });
    expect(hit.body.hit).toBe(true);
    expect(await roundTrips(hit.requestId)).toMatchObject({ neon: 0 });
  });

  it("keeps each tool's TTL: its cacheTtlSeconds, and 0 means never cached", async () => {
    const { admin } = await organization();
    const short = await newTool(admin.bearer, { cacheTtlSeconds: 120 });
    const stored = await store(admin.bearer, short.name, {});
    expect(stored.body.ttlSeconds).toBe(120);
    const ttl = await rawRedis.ttl(stored.body.key);
    expect(ttl).toBeGreaterThan(110);
    expect(ttl).toBeLessThanOrEqual(120);

    const never = await newTool(admin.bearer, { cacheTtlSeconds: 0 });
    const refused = await store(admin.bearer, never.name, { q: 1 });
    expectProblem(refused, 409, "tool_not_cacheable");
    expect(await rawRedis.exists(`exec_cache:${never.name}:${await inputHash({ q: 1 })}`)).toBe(0);
  });

  it("drops a tool's entries when it is updated or deactivated, and only that tool's", async () => {
    const { admin } = await organization();
    const tool = await newTool(admin.bearer);
    // A name that extends the first one: its keys share the text prefix, not the key prefix.
    const sibling = await newTool(admin.bearer, { name: `${tool.name}x` });
    const keys = [];
    for (const n of [1, 2, 3]) keys.push((await store(admin.bearer, tool.name, { n })).body.key);
    const siblingKey = (await store(admin.bearer, sibling.name, { n: 1 })).body.key;
    expect(await rawRedis.exists(...keys)).toBe(3);

    const patched = await call("PATCH", `${TOOLS}/${tool.id}`, { token: admin.bearer, body: { version: "1.1.0" } });
    expect(patched.status).toBe(200);
    expect(await roundTrips(patched.requestId)).toMatchObject({ neon: 1 });
    expect(await rawRedis.exists(...keys)).toBe(0);
    expect(await rawRedis.exists(siblingKey)).toBe(1);
    expect((await lookup(admin.bearer, tool.name, { n: 1 })).body.hit).toBe(false);

    const again = await store(admin.bearer, tool.name, { n: 1 });
    expect(again.body.result.toolVersion).toBe("1.1.0");
    expect((await call("POST", `${TOOLS}/${tool.id}/deactivate`, { token: admin.bearer })).status).toBe(200);
    expect(await rawRedis.exists(again.body.key)).toBe(0);
    expect((await lookup(admin.bearer, tool.name, { n: 1 })).body.hit).toBe(false);
    const inactive = await store(admin.bearer, tool.name, { n: 1 });
    expectProblem(inactive, 409, "invalid_state");
    expect(await rawRedis.exists(again.body.key)).toBe(0);
  });

  it("never serves one organization's result of a shared tool to another", async () => {
    const a = await organization();
    const b = await organization();
    const shared = await newTool(await operator());
    const stored = await store(a.admin.bearer, shared.name, { city: "Seoul" });
    expect(stored.body.stored).toBe(true);
    expect((await lookup(a.admin.bearer, shared.name, { city: "Seoul" })).body.hit).toBe(true);
    const other = await lookup(b.admin.bearer, shared.name, { city: "Seoul" });
    expect(other.body).toMatchObject({ hit: false, result: null, key: stored.body.key });

    // Another organization's own tool is not there to store into.
    const own = await newTool(a.admin.bearer);
    expectProblem(await store(b.admin.bearer, own.name, {}), 404, "not_found");
  });

  it("refuses bad input naming the field", async () => {
    const { admin } = await organization();
    const tool = await newTool(admin.bearer);
    const paths = (res: { body: { errors?: { path: string }[] } }) => (res.body.errors ?? []).map((e) => e.path);
    expect(paths(await lookup(admin.bearer, "no:colons", {}))).toEqual(["json.toolName"]);
    expect(paths(await lookup(admin.bearer, tool.name, [1]))).toEqual(["json.params"]);
    // The platform refuses what RFC 8785 could not hash before the route sees it.
    // Compared as JSON text, which escapes lone surrogates, so a failure can be reported.
    expect(JSON.stringify(paths(await lookup(admin.bearer, tool.name, { q: "\ud800" })))).toBe(JSON.stringify(["json.params.q"]));
    expect(JSON.stringify(paths(await store(admin.bearer, tool.name, { "\udc00": 1 })))).toBe(JSON.stringify(["json.params.\udc00"]));
    expect(paths(await store(admin.bearer, tool.name, {}, { resultData: 1 }))).toEqual(["json.result.executionTimeMs"]);
    expect(paths(await store(admin.bearer, tool.name, {}, { ...output, tokensUsed: -1 }))).toEqual(["json.result.tokensUsed"]);
    expectProblem(await store(admin.bearer, uniqueName(), {}), 404, "not_found");
  });

  it("misses while Redis is down, and a store says it stored nothing", async () => {
    const { admin } = await organization();
    const tool = await newTool(admin.bearer);
    expect((await store(admin.bearer, tool.name, { q: 1 })).body.stored).toBe(true);
    const env = { REDIS_URL: `${DEAD_ENDPOINT}/exec-cache-down-${crypto.randomUUID()}` };
    const down = await lookup(admin.bearer, tool.name, { q: 1 }, env);
    expect(down.status).toBe(200);
    expect(down.body).toMatchObject({ hit: false, result: null });
    const notStored = await store(admin.bearer, tool.name, { q: 2 }, output, env);
    expect(notStored.status).toBe(200);
    expect(notStored.body.stored).toBe(false);
  });
});
