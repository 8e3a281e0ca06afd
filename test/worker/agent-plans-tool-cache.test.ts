import { describe, expect, it } from "vitest";
import { call, DEAD_ENDPOINT, expectProblem, roundTrips } from "./helpers";
import { rawRedis } from "./agent-helpers";
import { createPlan, planWorld, todo } from "./agent-plans-helpers";

const TOOLS = "/api/v1/agent/tools";
const limitSchema = (type: string) => ({ type: "object", properties: { limit: { type } }, required: ["limit"] });

/** An organization tool registered by the world's admin through the API. */
async function orgTool(bearer: string, parametersSchema: unknown) {
  const created = await call("POST", TOOLS, {
    token: bearer,
    body: { name: `tool_${crypto.randomUUID().slice(0, 8)}`, type: "data", layer: "data", executorClass: "test.Executor", parametersSchema },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body as { id: string; name: string };
}

describe("agent plans naming tools, with the tools' schemas cached in Redis", () => {
  it("read the schemas from Postgres once (two round trips), then from Redis (one round trip)", async () => {
    const w = await planWorld();
    const tool = await orgTool(w.admin.bearer, limitSchema("integer"));
    const body = { todos: [todo("a", { toolName: tool.name, toolParams: { limit: 1 } })] };

    const cold = await createPlan(w, body);
    expect(cold.status, JSON.stringify(cold.body)).toBe(201);
    expect(await roundTrips(cold.requestId)).toMatchObject({ neon: 2 });
    expect(JSON.parse((await rawRedis.get<string>(`agent:tool:${tool.name}`)) ?? "null")).toMatchObject({
      id: tool.id,
      name: tool.name,
      isActive: true,
      organizationId: w.orgId,
    });

    const warm = await createPlan(w, body);
    expect(warm.status, JSON.stringify(warm.body)).toBe(201);
    expect(await roundTrips(warm.requestId)).toMatchObject({ neon: 1 });
    const bad = await createPlan(w, { todos: [todo("a", { toolName: tool.name, toolParams: { limit: "x" } })] });
    expectProblem(bad, 422, "validation_failed");
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(["json.todos.0.toolParams.limit"]);
    expect(await roundTrips(bad.requestId)).toMatchObject({ neon: 0 });
  });

  it("refuse params against the new schema right after a tool's schema changes, and an inactive tool right after deactivation", async () => {
    const w = await planWorld();
    const tool = await orgTool(w.admin.bearer, limitSchema("integer"));
    const asInteger = { todos: [todo("a", { toolName: tool.name, toolParams: { limit: 1 } })] };
    expect((await createPlan(w, asInteger)).status).toBe(201);

    expect((await call("PATCH", `${TOOLS}/${tool.id}`, { token: w.admin.bearer, body: { parametersSchema: limitSchema("string") } })).status).toBe(200);
    expect(await rawRedis.exists(`agent:tool:${tool.name}`)).toBe(0);
    const refused = await createPlan(w, asInteger);
    expectProblem(refused, 422, "validation_failed");
    expect(refused.body.errors.map((e: { path: string }) => e.path)).toEqual(["json.todos.0.toolParams.limit"]);
    const asString = { todos: [todo("a", { toolName: tool.name, toolParams: { limit: "5" } })] };
    const ok = await createPlan(w, asString);
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(await roundTrips(ok.requestId)).toMatchObject({ neon: 1 });

    expect((await call("POST", `${TOOLS}/${tool.id}/deactivate`, { token: w.admin.bearer })).status).toBe(200);
    const inactive = await createPlan(w, asString);
    expectProblem(inactive, 422, "validation_failed");
    expect(inactive.body.errors).toEqual([{ path: "json.todos.0.toolName", message: `todo "a" calls inactive tool "${tool.name}"` }]);
  });

  it("never lend one organization's cached tool to another", async () => {
    const a = await planWorld();
    const tool = await orgTool(a.admin.bearer, limitSchema("integer"));
    const body = { todos: [todo("a", { toolName: tool.name, toolParams: { limit: 1 } })] };
    expect((await createPlan(a, body)).status).toBe(201);
    expect(await rawRedis.exists(`agent:tool:${tool.name}`)).toBe(1);

    const b = await planWorld();
    const other = await createPlan(b, body);
    expectProblem(other, 422, "validation_failed");
    expect(other.body.errors).toEqual([{ path: "json.todos.0.toolName", message: `todo "a" calls unknown tool "${tool.name}"` }]);
  });

  it("fall back to reading the schemas from Postgres while Redis is down", async () => {
    const w = await planWorld();
    const tool = await orgTool(w.admin.bearer, limitSchema("integer"));
    const env = { REDIS_URL: `${DEAD_ENDPOINT}/plans-tools-down-${crypto.randomUUID()}` };
    const body = { todos: [todo("a", { toolName: tool.name, toolParams: { limit: 1 } })] };
    for (let i = 0; i < 2; i++) {
      const created = await call("POST", `/api/v1/agent/sessions/${w.sessionId}/plans`, { token: w.owner.bearer, body, env });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(await roundTrips(created.requestId)).toMatchObject({ neon: 2 });
    }
  });
});
