import { describe, expect, it } from "vitest";
import { plans, todos } from "../../src/agent/schema";
import { runAs } from "../../src/platform/db";
import { call, type CallResult, expectProblem, roundTrips } from "./helpers";
import { as, db, member, operator, organization, provisioned } from "./agent-helpers";

const TOOLS = "/api/v1/agent/tools";
const uniqueName = (prefix = "tool") => `${prefix}_${crypto.randomUUID().slice(0, 8)}`;
const toolBody = (over: Record<string, unknown> = {}) => ({ name: uniqueName(), type: "data", layer: "data", executorClass: "executors.Sql", ...over });
const paths = (res: { body: { errors?: { path: string; message: string }[] } }) => (res.body.errors ?? []).map((e) => e.path);

describe("agent tools registry", () => {
  it("admins register their organization's tools, operators shared ones; parameters_schema is a JSON Schema or [] for none", async () => {
    const { orgId, admin } = await organization();
    const created = await call("POST", TOOLS, { token: admin.bearer, body: toolBody({ displayName: "SQL", tags: ["sql"], cacheTtlSeconds: 600 }) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ organizationId: orgId, parametersSchema: [], isActive: true, cacheTtlSeconds: 600, version: "1.0.0", timeoutSeconds: 300, tags: ["sql"] });
    expect(await roundTrips(created.requestId)).toMatchObject({ neon: 1 });

    const schema = { type: "object", properties: { q: { type: "string", minLength: 1 } }, required: ["q"] };
    expect((await call("POST", TOOLS, { token: admin.bearer, body: toolBody({ parametersSchema: schema }) })).body.parametersSchema).toEqual(schema);

    const badPointer = await call("POST", TOOLS, { token: admin.bearer, body: toolBody({ parametersSchema: { type: "object", properties: { q: { minLength: -1 } } } }) });
    expectProblem(badPointer, 422, "validation_failed");
    expect(paths(badPointer)).toContain("json.parametersSchema.properties.q.minLength");
    expect(badPointer.body.errors[0].message).toContain("(at /properties/q/minLength)");
    expect(paths(await call("POST", TOOLS, { token: admin.bearer, body: toolBody({ parametersSchema: [{ name: "q" }] }) }))).toEqual(["json.parametersSchema"]);
    expect(paths(await call("POST", TOOLS, { token: admin.bearer, body: toolBody({ parametersSchema: { type: "string" } }) }))).toEqual(["json.parametersSchema.type"]);
    expect(paths(await call("POST", TOOLS, { token: admin.bearer, body: toolBody({ name: "sql:query" }) }))).toEqual(["json.name"]);
    expect(paths(await call("POST", TOOLS, { token: admin.bearer, body: toolBody({ cacheTtlSeconds: -1 }) }))).toEqual(["json.cacheTtlSeconds"]);
    expectProblem(await call("POST", TOOLS, { token: admin.bearer, body: toolBody({ name: created.body.name }) }), 409, "unique_violation");

    for (const roles of [["manager"], ["user"], ["viewer"]]) {
      const m = await provisioned(orgId, admin, roles);
      const refused = await call("POST", TOOLS, { token: m.bearer, body: toolBody() });
      expectProblem(refused, 403, "agent_role_required");
      expect(await roundTrips(refused.requestId)).toMatchObject({ neon: 0 });
    }

    const shared = await call("POST", TOOLS, { token: await operator(), body: toolBody({ type: "analysis" }) });
    expect(shared.status).toBe(201);
    expect(shared.body.organizationId).toBeNull();

    // Another organization sees the shared tool, never this one's.
    const other = await organization();
    expect((await call("GET", `${TOOLS}/${shared.body.id}`, { token: other.admin.bearer })).status).toBe(200);
    expectProblem(await call("GET", `${TOOLS}/${created.body.id}`, { token: other.admin.bearer }), 404, "not_found");
    const read = await call("GET", `${TOOLS}/${created.body.id}`, { token: admin.bearer });
    expect(read.body).toEqual(created.body);
    expect(await roundTrips(read.requestId)).toMatchObject({ neon: 1 });
  });

  it("lists by type and layer, by name in keyset pages, active ones unless told", async () => {
    const { admin } = await organization();
    const layer = uniqueName("layer");
    const names = ["b", "a", "c", "d"].map((n) => `${layer}_${n}`);
    for (const [i, name] of names.entries()) {
      const res = await call("POST", TOOLS, { token: admin.bearer, body: toolBody({ name, layer, type: i === 3 ? "content" : "data" }) });
      expect(res.status).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: CallResult = await call("GET", `${TOOLS}?layer=${layer}&type=data&limit=2${cursor ? `&cursor=${cursor}` : ""}`, { token: admin.bearer });
      expect(page.status).toBe(200);
      expect(await roundTrips(page.requestId)).toMatchObject({ neon: 1 });
      seen.push(...page.body.items.map((t: { name: string }) => t.name));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([`${layer}_a`, `${layer}_b`, `${layer}_c`]);

    const content = await call("GET", `${TOOLS}?layer=${layer}&type=content`, { token: admin.bearer });
    expect(content.body.items.map((t: { name: string }) => t.name)).toEqual([`${layer}_d`]);
    expect((await call("POST", `${TOOLS}/${content.body.items[0].id}/deactivate`, { token: admin.bearer })).status).toBe(200);
    expect((await call("GET", `${TOOLS}?layer=${layer}`, { token: admin.bearer })).body.items).toHaveLength(3);
    expect((await call("GET", `${TOOLS}?layer=${layer}&status=inactive`, { token: admin.bearer })).body.items.map((t: { name: string }) => t.name)).toEqual([`${layer}_d`]);
    expect((await call("GET", `${TOOLS}?layer=${layer}&status=all`, { token: admin.bearer })).body.items).toHaveLength(4);
    expectProblem(await call("GET", `${TOOLS}?type=robots`, { token: admin.bearer }), 422, "validation_failed");
  });

  it("are changed and deactivated by their managers only, each one conditional statement", async () => {
    const { orgId, admin } = await organization();
    const { body: tool } = await call("POST", TOOLS, { token: admin.bearer, body: toolBody() });
    const patched = await call("PATCH", `${TOOLS}/${tool.id}`, { token: admin.bearer, body: { description: "Runs SQL", timeoutSeconds: 60, parametersSchema: { type: "object" } } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ description: "Runs SQL", timeoutSeconds: 60, parametersSchema: { type: "object" }, name: tool.name });
    expect(Date.parse(patched.body.updatedAt)).toBeGreaterThan(Date.parse(tool.updatedAt));
    expect(await roundTrips(patched.requestId)).toMatchObject({ neon: 1 });
    const rename = await call("PATCH", `${TOOLS}/${tool.id}`, { token: admin.bearer, body: { name: "renamed" } });
    expectProblem(rename, 422, "validation_failed");
    expect(rename.body.detail).toContain('"name"');
    expect(paths(await call("PATCH", `${TOOLS}/${tool.id}`, { token: admin.bearer, body: { parametersSchema: { type: "object", $dynamicRef: "#x" } } }))).toEqual(["json.parametersSchema.$dynamicRef"]);
    expectProblem(await call("PATCH", `${TOOLS}/${tool.id}`, { token: admin.bearer, body: {} }), 422, "validation_failed");

    const manager = await provisioned(orgId, admin, ["manager"]);
    expectProblem(await call("PATCH", `${TOOLS}/${tool.id}`, { token: manager.bearer, body: { description: "x" } }), 403, "agent_role_required");
    // Operators manage shared tools, not an organization's; admins the other way round.
    expectProblem(await call("PATCH", `${TOOLS}/${tool.id}`, { token: await operator(), body: { description: "x" } }), 403, "agent_role_required");
    const { body: shared } = await call("POST", TOOLS, { token: await operator(), body: toolBody() });
    expectProblem(await call("POST", `${TOOLS}/${shared.id}/deactivate`, { token: admin.bearer }), 403, "agent_role_required");
    expectProblem(await call("PATCH", `${TOOLS}/${crypto.randomUUID()}`, { token: admin.bearer, body: { description: "x" } }), 404, "not_found");
    const other = await organization();
    expectProblem(await call("POST", `${TOOLS}/${tool.id}/deactivate`, { token: other.admin.bearer }), 404, "not_found");

    const off = await call("POST", `${TOOLS}/${tool.id}/deactivate`, { token: admin.bearer });
    expect(off.status).toBe(200);
    expect(off.body.isActive).toBe(false);
    expect(await roundTrips(off.requestId)).toMatchObject({ neon: 1 });
    const again = await call("POST", `${TOOLS}/${tool.id}/deactivate`, { token: admin.bearer });
    expectProblem(again, 409, "invalid_state");
    expect(again.body.currentStatus).toBe("inactive");
    expect(await roundTrips(again.requestId)).toMatchObject({ neon: 1 });
  });
});

describe("agent tool executions", () => {
  const EXECUTIONS = "/api/v1/agent/tool-executions";
  const run = (toolName: string, over: Record<string, unknown> = {}) => ({
    toolName,
    inputParams: { q: "select 1" },
    outputData: { rows: 1 },
    success: true,
    executionTimeMs: 12,
    startedAt: "2026-01-05T10:00:00.000Z",
    completedAt: "2026-01-05T10:00:00.012Z",
    tokensUsed: 30,
    costUsd: 0.0015,
    ...over,
  });

  it("are recorded outside todos, in a session, or for a todo (its session filled in), and listed newest first", async () => {
    const { orgId, admin } = await organization();
    const { body: tool } = await call("POST", TOOLS, { token: admin.bearer, body: toolBody() });
    const executor = await provisioned(orgId, admin, ["user"]);

    const loose = await call("POST", EXECUTIONS, { token: executor.bearer, body: run(tool.name) });
    expect(loose.status).toBe(201);
    expect(loose.body).toMatchObject({ toolId: tool.id, toolName: tool.name, sessionId: null, todoId: null, organizationId: orgId, success: true, tokensUsed: 30, inputParams: { q: "select 1" }, outputData: { rows: 1 } });
    expect(Number(loose.body.costUsd)).toBe(0.0015);
    expect(await roundTrips(loose.requestId)).toMatchObject({ neon: 1 });

    const { body: session } = await call("POST", "/api/v1/agent/sessions", { token: executor.bearer, body: {} });
    const inSession = await call("POST", EXECUTIONS, { token: executor.bearer, body: run(tool.name, { sessionId: session.id, success: false, errorMessage: "timeout", outputData: undefined }) });
    expect(inSession.body).toMatchObject({ sessionId: session.id, success: false, errorMessage: "timeout", outputData: null });

    const [[plan]] = await runAs(db, as(orgId, executor.userId), [db.insert(plans).values({ sessionId: session.id, organizationId: orgId }).returning()] as const);
    const [[todo]] = await runAs(db, as(orgId, executor.userId), [db.insert(todos).values({ planId: plan!.id, title: "Query", layer: "data", organizationId: orgId, toolName: tool.name }).returning()] as const);
    const forTodo = await call("POST", EXECUTIONS, { token: executor.bearer, body: run(tool.name, { todoId: todo!.id }) });
    expect(forTodo.body).toMatchObject({ todoId: todo!.id, sessionId: session.id });

    const { body: otherSession } = await call("POST", "/api/v1/agent/sessions", { token: executor.bearer, body: {} });
    const mismatch = await call("POST", EXECUTIONS, { token: executor.bearer, body: run(tool.name, { todoId: todo!.id, sessionId: otherSession.id }) });
    expect(paths(mismatch)).toEqual(["json.todoId"]);

    const all = await call("GET", EXECUTIONS, { token: admin.bearer });
    expect(all.body.items.map((e: { id: string }) => e.id)).toEqual([forTodo.body.id, inSession.body.id, loose.body.id]);
    expect(await roundTrips(all.requestId)).toMatchObject({ neon: 1 });
    const failed = await call("GET", `${EXECUTIONS}?success=false&toolName=${tool.name}`, { token: admin.bearer });
    expect(failed.body.items.map((e: { id: string }) => e.id)).toEqual([inSession.body.id]);
    expect((await call("GET", `${EXECUTIONS}?sessionId=${session.id}&limit=1`, { token: admin.bearer })).body.nextCursor).toEqual(expect.any(String));
    expect((await call("GET", `${EXECUTIONS}?todoId=${todo!.id}`, { token: admin.bearer })).body.items).toHaveLength(1);

    const other = await organization();
    expect((await call("GET", EXECUTIONS, { token: other.admin.bearer })).body.items).toEqual([]);
  });

  it("are refused naming the field, and write nothing, for an unknown tool, session or todo, a viewer or an unprovisioned caller", async () => {
    const { orgId, admin } = await organization();
    const { body: tool } = await call("POST", TOOLS, { token: admin.bearer, body: toolBody() });
    const other = await organization();
    const { body: foreignTool } = await call("POST", TOOLS, { token: other.admin.bearer, body: toolBody() });
    const { body: foreignSession } = await call("POST", "/api/v1/agent/sessions", { token: other.admin.bearer, body: {} });

    const unknown = await call("POST", EXECUTIONS, { token: admin.bearer, body: run(uniqueName()) });
    expect(paths(unknown)).toEqual(["json.toolName"]);
    expect(await roundTrips(unknown.requestId)).toMatchObject({ neon: 1 });
    expect(paths(await call("POST", EXECUTIONS, { token: admin.bearer, body: run(foreignTool.name) }))).toEqual(["json.toolName"]);
    expect(paths(await call("POST", EXECUTIONS, { token: admin.bearer, body: run(tool.name, { sessionId: foreignSession.id }) }))).toEqual(["json.sessionId"]);
    expect(paths(await call("POST", EXECUTIONS, { token: admin.bearer, body: run(tool.name, { todoId: crypto.randomUUID() }) }))).toEqual(["json.todoId"]);
    expect(paths(await call("POST", EXECUTIONS, { token: admin.bearer, body: run(tool.name, { completedAt: "2026-01-05T09:59:59Z" }) }))).toEqual(["json.completedAt"]);
    expect(paths(await call("POST", EXECUTIONS, { token: admin.bearer, body: run(tool.name, { tokensUsed: -1 }) }))).toEqual(["json.tokensUsed"]);

    const viewer = await provisioned(orgId, admin, ["viewer"]);
    expectProblem(await call("POST", EXECUTIONS, { token: viewer.bearer, body: run(tool.name) }), 403, "agent_role_required");
    const stranger = await member(orgId, ["user"]);
    expectProblem(await call("POST", EXECUTIONS, { token: stranger.bearer, body: run(tool.name) }), 409, "user_not_provisioned");

    expect((await call("GET", EXECUTIONS, { token: admin.bearer })).body.items).toEqual([]);
  });
});
