import { describe, expect, it } from "vitest";
import { permissionGranted, ROLE_PERMISSIONS } from "../../src/factory/access";
import { USER_ROLES } from "../../src/factory/schema";
import { seedTenant, seedUser, type FactoryUser } from "./factory-helpers";
import { call } from "./helpers";

/** A valid body per route that takes one (so a refusal can only be the permission's). */
const BODIES: Record<string, unknown> = {
  "POST /api/v1/factory/judgments/execute": { inputData: { line_code: "L01" }, rulesetId: "00000000-0000-4000-8000-000000000000" },
  "POST /api/v1/factory/judgments/{id}/feedback": { feedbackType: "correct" },
  "POST /api/v1/factory/prompts": { name: "roles", purpose: "roles", templateType: "judgment", bodies: [{ systemPrompt: "s", userPromptTemplate: "u" }] },
  "POST /api/v1/factory/prompts/{id}/render": { variables: {} },
};

/** Every judgment and prompt operation of /openapi.json with the permission it declares. */
async function operations() {
  const doc = (await call("GET", "/openapi.json")).body as { paths: Record<string, Record<string, { "x-permission"?: string }>> };
  return Object.entries(doc.paths)
    .filter(([path]) => /^\/api\/v1\/factory\/(judgments|prompts)(\/|$)/.test(path))
    .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, permission: op["x-permission"]! })));
}

describe("factory judgment and prompt routes × roles (generated from the declared permissions)", () => {
  it("refuses exactly the roles whose §2.2 permissions lack the route's, naming the permission", async () => {
    const ops = await operations();
    expect(ops.map((o) => `${o.key} ${o.permission}`).sort()).toEqual([
      "GET /api/v1/factory/judgments judgment:read",
      "GET /api/v1/factory/judgments/{id} judgment:read",
      "GET /api/v1/factory/prompts prompt:read",
      "GET /api/v1/factory/prompts/{id} prompt:read",
      "POST /api/v1/factory/judgments/execute judgment:execute",
      "POST /api/v1/factory/judgments/{id}/feedback judgment:execute",
      "POST /api/v1/factory/prompts prompt:create",
      "POST /api/v1/factory/prompts/{id}/activate prompt:deploy",
      "POST /api/v1/factory/prompts/{id}/render prompt:read",
    ]);
    const { tenantId, admin } = await seedTenant();
    const users: Record<string, FactoryUser> = { admin };
    for (const role of USER_ROLES.filter((r) => r !== "admin")) users[role] = await seedUser(tenantId, role);
    for (const op of ops) {
      const path = op.path.replace("{id}", crypto.randomUUID());
      for (const role of USER_ROLES) {
        const res = await call(op.method, path, { token: users[role]!.bearer, body: BODIES[op.key] });
        const what = `${role} ${op.key} → ${res.status} ${JSON.stringify(res.body)}`;
        expect(res.status, what).toBeLessThan(500);
        if (permissionGranted(ROLE_PERMISSIONS[role], op.permission)) expect(res.status, what).not.toBe(403);
        else expect([res.status, res.body.code, res.body.permission], what).toEqual([403, "permission_missing", op.permission]);
      }
    }
  });
});
