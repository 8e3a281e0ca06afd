import { expect } from "vitest";
import { tools } from "../../src/agent/schema";
import { runAs } from "../../src/platform/db";
import { call } from "./helpers";
import { as, db, organization, provisioned, type Member } from "./agent-helpers";

/** A shared tool (organization null), written as an operator; its name is unique to the test. */
export async function sharedTool(parametersSchema: unknown, isActive = true): Promise<string> {
  const name = `tool_${crypto.randomUUID().slice(0, 8)}`;
  await runAs(db, as(null, crypto.randomUUID(), ["operator"]), [
    db.insert(tools).values({ name, type: "data", layer: "data", executorClass: "test.Executor", parametersSchema: parametersSchema as never, isActive }),
  ] as const);
  return name;
}

export interface PlanWorld {
  orgId: string;
  admin: Member;
  owner: Member;
  sessionId: string;
}

/** An organization, a provisioned user and their active session. */
export async function planWorld(limits: Record<string, number> = {}): Promise<PlanWorld> {
  const { orgId, admin } = await organization(limits);
  const owner = await provisioned(orgId, admin);
  const session = await call("POST", "/api/v1/agent/sessions", { token: owner.bearer });
  expect(session.status).toBe(201);
  return { orgId, admin, owner, sessionId: session.body.id };
}

export const createPlan = (w: PlanWorld, body: unknown, bearer = w.owner.bearer) =>
  call("POST", `/api/v1/agent/sessions/${w.sessionId}/plans`, { token: bearer, body });

/** A todo with the required fields; `over` adds or replaces. */
export const todo = (key: string, over: Record<string, unknown> = {}) => ({ key, title: `do ${key}`, layer: "data", ...over });

/** A plan of `todosIn`, approved by a manager and started by its owner: ready to claim. */
export async function executingPlan(w: PlanWorld, todosIn: unknown[]): Promise<{ planId: string; ids: Record<string, string>; manager: Member }> {
  const manager = await provisioned(w.orgId, w.admin, ["manager"]);
  const created = await createPlan(w, { todos: todosIn });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const planId: string = created.body.plan.id;
  expect((await call("POST", `/api/v1/agent/plans/${planId}/approve`, { token: manager.bearer })).status).toBe(200);
  expect((await call("POST", `/api/v1/agent/plans/${planId}/start`, { token: w.owner.bearer })).status).toBe(200);
  const ids = Object.fromEntries(created.body.todos.map((t: { title: string; id: string }) => [t.title.replace(/^do /, ""), t.id]));
  return { planId, ids, manager };
}

export const claim = (w: PlanWorld, planId: string, limit = 1, bearer = w.owner.bearer) =>
  call("POST", `/api/v1/agent/plans/${planId}/claim`, { token: bearer, body: { limit } });

export const onTodo = (bearer: string, id: string, action: string, body?: unknown) => call("POST", `/api/v1/agent/todos/${id}/${action}`, { token: bearer, body });
