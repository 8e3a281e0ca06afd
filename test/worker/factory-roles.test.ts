import { describe, expect, it } from "vitest";
import { permissionGranted, ROLE_PERMISSIONS } from "../../src/factory/access";
import { USER_ROLES } from "../../src/factory/schema";
import { call } from "./helpers";
import { createdTenant, operatorBearer, seedUser, type FactoryUser } from "./factory-helpers";

/**
 * The §2.2 matrix walked from the route declarations: every factory operation of /openapi.json
 * declares the permission it needs (x-permission) or the platform operator's role
 * (x-platform-role); every role is called on every operation and must be refused exactly when
 * its permissions do not cover the declared one, with a 403 naming that permission.
 */

interface Operation {
  key: string;
  method: string;
  path: string;
  permission: string | null | undefined;
  platformRole: string | undefined;
  hasBody: boolean;
}

/** A minimal valid body per operation (fresh per call: names and subjects must not collide). */
const BODIES: Record<string, () => unknown> = {
  "POST /api/v1/factory/platform/tenants": () => {
    const s = crypto.randomUUID();
    return { name: `matrix-${s.slice(0, 12)}`, displayName: "Matrix", admin: { subject: s, email: `${s}@factory.test`, username: "admin" } };
  },
  "PATCH /api/v1/factory/platform/tenants/{id}": () => ({ maxUsers: 20 }),
  "PATCH /api/v1/factory/tenant": () => ({ displayName: "Matrix plant" }),
  "POST /api/v1/factory/users": () => {
    const s = crypto.randomUUID();
    return { subject: s, email: `${s}@factory.test`, username: `m-${s.slice(0, 8)}`, role: "viewer" };
  },
  "PATCH /api/v1/factory/users/{id}": () => ({ metadata: { matrix: true } }),
  "POST /api/v1/factory/judgments/execute": () => ({ inputData: { line_code: "L01" }, rulesetId: crypto.randomUUID() }),
  "POST /api/v1/factory/judgments/{id}/feedback": () => ({ feedbackType: "correct" }),
  "POST /api/v1/factory/prompts": () => ({ name: "matrix", purpose: "matrix", templateType: "judgment", bodies: [{ systemPrompt: "s", userPromptTemplate: "u" }] }),
  "POST /api/v1/factory/prompts/{id}/render": () => ({ variables: {} }),
  "POST /api/v1/factory/rules/rulesets": () => ({ name: `matrix-${crypto.randomUUID()}`, targetKpi: "defect_rate" }),
  "PATCH /api/v1/factory/rules/rulesets/{id}": () => ({ priority: 1 }),
  "POST /api/v1/factory/rules/rulesets/{id}/scripts": () => ({ script: "fn judge(metrics) { 1 }" }),
  "POST /api/v1/factory/rules/rulesets/{id}/scripts/{version}/test": () => ({ input: {} }),
  "POST /api/v1/factory/rules/rulesets/{id}/deploy": () => ({ version: 1, changelog: "matrix" }),
  "PATCH /api/v1/factory/rules/conflicts/{id}": () => ({ resolutionStatus: "resolved" }),
  "POST /api/v1/factory/connectors": () => ({ name: `matrix-${crypto.randomUUID()}`, type: "graphql", config: { endpoint: "http://127.0.0.1:9/graphql" } }),
  "PATCH /api/v1/factory/connectors/{id}": () => ({ name: "matrix" }),
  "POST /api/v1/factory/connectors/{id}/query": () => ({ query: "select 1" }),
  "POST /api/v1/factory/mcp/servers": () => ({ name: `matrix-${crypto.randomUUID()}`, endpoint: "http://127.0.0.1:9/mcp", protocol: "sse" }),
  "PATCH /api/v1/factory/mcp/servers/{id}": () => ({ name: "matrix" }),
  "PATCH /api/v1/factory/mcp/tools/{id}": () => ({ isEnabled: false }),
  "POST /api/v1/factory/mcp/tools/{id}/call": () => ({ arguments: {} }),
  "POST /api/v1/factory/workflows": () => {
    const name = `matrix-${crypto.randomUUID()}`;
    return { name, dsl: { name, nodes: [{ id: "a", type: "WAIT", config: { seconds: 1 } }] } };
  },
  "POST /api/v1/factory/workflows/{id}/versions": () => ({ dsl: { name: "matrix", nodes: [{ id: "a", type: "WAIT", config: { seconds: 1 } }] } }),
  "POST /api/v1/factory/workflows/{id}/execute": () => ({ input: {} }),
  "POST /api/v1/factory/workflows/instances/{instanceId}/approval": () => ({ decision: "approve" }),
  "POST /api/v1/factory/learning/samples": () => ({ inputFeatures: { metrics: { defect_rate: 0.1 } }, label: { result: "critical" } }),
  "POST /api/v1/factory/learning/samples/import": () => ({ input_features: {}, label: { result: "normal" } }),
  "POST /api/v1/factory/learning/samples/{id}/validate": () => ({}),
  "POST /api/v1/factory/learning/auto-rules": () => ({ rulesetId: crypto.randomUUID(), method: "pattern_mining" }),
  "POST /api/v1/factory/learning/auto-rules/{id}/reject": () => ({ reason: "matrix" }),
  "POST /api/v1/factory/learning/training-jobs": () => ({ jobType: "embedding_update", trainingConfig: {} }),
  "POST /api/v1/factory/chat/sessions": () => ({ title: "matrix" }),
  "PATCH /api/v1/factory/chat/sessions/{id}": () => ({ title: "matrix" }),
  "POST /api/v1/factory/chat/messages": () => ({ sessionId: crypto.randomUUID(), content: "L01 불량률 어때?" }),
  "POST /api/v1/factory/chat/intents/{id}/feedback": () => ({ feedbackScore: 5 }),
};

async function factoryOperations(): Promise<Operation[]> {
  const doc = (await call("GET", "/openapi.json")).body as { paths: Record<string, Record<string, Record<string, unknown>>> };
  return Object.entries(doc.paths)
    .filter(([path]) => path.startsWith("/api/v1/factory/"))
    .flatMap(([path, item]) =>
      // A signed route (x-authentication) has no user, so no permission: factory-learning-jobs and factory-workflow-trigger-webhook tests cover them.
      Object.entries(item).filter(([, op]) => !op["x-authentication"]).map(([method, op]) => ({
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        permission: op["x-permission"] as string | null | undefined,
        platformRole: op["x-platform-role"] as string | undefined,
        hasBody: op.requestBody !== undefined,
      })),
    );
}

// Rule versions are numbered (an integer path parameter); every other parameter is a UUID.
const concrete = (path: string) => path.replace("{version}", "1").replace(/\{[^}]+\}/g, () => crypto.randomUUID());
const invoke = (op: Operation, bearer: string) => call(op.method, concrete(op.path), { token: bearer, body: BODIES[op.key]?.() });

describe("factory role matrix (generated from the route declarations)", () => {
  it("declares on every factory operation the one permission it needs, or the platform operator's role", async () => {
    const ops = await factoryOperations();
    expect(ops.length).toBeGreaterThan(10);
    expect(ops.filter((op) => op.permission === undefined && op.platformRole === undefined).map((op) => op.key)).toEqual([]);
    expect(ops.filter((op) => op.hasBody && !BODIES[op.key]).map((op) => op.key), "operations without a minimal body here").toEqual([]);
  });

  it("admits exactly the roles whose permissions cover the declared one, and refuses the others naming it", async () => {
    const { tenantId, admin } = await createdTenant({ maxUsers: 1000 });
    const users: Record<string, FactoryUser> = { admin };
    for (const role of USER_ROLES.filter((r) => r !== "admin")) users[role] = await seedUser(tenantId, role);
    const outcomes: string[] = [];
    const expected: string[] = [];
    for (const op of (await factoryOperations()).filter((o) => o.platformRole === undefined)) {
      for (const role of USER_ROLES) {
        const res = await invoke(op, users[role]!.bearer);
        expect(res.status, `${op.key} as ${role}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
        const allowed = op.permission === null || permissionGranted(ROLE_PERMISSIONS[role], op.permission!);
        outcomes.push(`${op.key} ${role}: ${res.status === 403 ? `403 ${res.body.code} ${res.body.permission}` : "allowed"}`);
        expected.push(`${op.key} ${role}: ${allowed ? "allowed" : `403 permission_missing ${op.permission}`}`);
      }
    }
    expect(outcomes).toEqual(expected);
  }, 120_000);

  it("keeps the platform routes to the platform operator: every tenant role is refused", async () => {
    const { tenantId, admin } = await createdTenant();
    const users = [admin, ...(await Promise.all(USER_ROLES.filter((r) => r !== "admin").map((r) => seedUser(tenantId, r))))];
    const operator = await operatorBearer();
    for (const op of (await factoryOperations()).filter((o) => o.platformRole !== undefined)) {
      expect(op.platformRole).toBe("platform_operator");
      for (const user of users) {
        const res = await invoke(op, user.bearer);
        expect(`${op.key} ${user.role}: ${res.status} ${res.body.code}`).toBe(`${op.key} ${user.role}: 403 platform_operator_required`);
      }
      const res = await invoke(op, operator);
      expect(res.status, `${op.key} as the platform operator: ${JSON.stringify(res.body)}`).not.toBe(403);
      expect(res.status).toBeLessThan(500);
    }
  });
});
