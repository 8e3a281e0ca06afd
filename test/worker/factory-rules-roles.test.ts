import { describe, expect, it } from "vitest";
import { permissionGranted, ROLE_PERMISSIONS } from "../../src/factory/access";
import { USER_ROLES } from "../../src/factory/schema";
import { seedTenant, seedUser, type FactoryUser } from "./factory-helpers";
import { call } from "./helpers";

/** A valid body per rule route that takes one (so a refusal can only be the permission's). */
const BODIES: Record<string, unknown> = {
  "POST /api/v1/factory/rules/rulesets": { name: "roles", targetKpi: "defect_rate" },
  "PATCH /api/v1/factory/rules/rulesets/{id}": { priority: 1 },
  "POST /api/v1/factory/rules/rulesets/{id}/scripts": { script: "fn judge(metrics) { 1 }" },
  "POST /api/v1/factory/rules/rulesets/{id}/scripts/{version}/test": { input: {} },
  "POST /api/v1/factory/rules/rulesets/{id}/deploy": { version: 1, changelog: "roles" },
  "PATCH /api/v1/factory/rules/conflicts/{id}": { resolutionStatus: "resolved" },
};

interface Operation {
  key: string;
  method: string;
  path: string;
  permission: string;
}

/** Every rule operation of /openapi.json with the permission it declares. */
async function ruleOperations(): Promise<Operation[]> {
  const doc = (await call("GET", "/openapi.json")).body as { paths: Record<string, Record<string, { "x-permission"?: string }>> };
  return Object.entries(doc.paths)
    .filter(([path]) => path.startsWith("/api/v1/factory/rules/"))
    .flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, permission: op["x-permission"]! })),
    );
}

describe("factory rule routes × roles (generated from the declared permissions)", () => {
  it("refuses exactly the roles whose §2.2 permissions lack the route's, naming the permission", async () => {
    const operations = await ruleOperations();
    expect(operations.length).toBe(19);
    for (const op of operations) expect(op.permission).toMatch(/^(rule|deployment):[a-z]+$/);
    const { tenantId, admin } = await seedTenant();
    const users: Record<string, FactoryUser> = { admin };
    for (const role of USER_ROLES.filter((r) => r !== "admin")) users[role] = await seedUser(tenantId, role);
    for (const op of operations) {
      const path = op.path.replace("{id}", crypto.randomUUID()).replace("{version}", "1");
      for (const role of USER_ROLES) {
        const res = await call(op.method, path, { token: users[role]!.bearer, body: BODIES[op.key] });
        const allowed = permissionGranted(ROLE_PERMISSIONS[role], op.permission);
        const what = `${role} ${op.key} → ${res.status} ${JSON.stringify(res.body)}`;
        expect(res.status, what).toBeLessThan(500);
        if (allowed) expect(res.status, what).not.toBe(403);
        else expect([res.status, res.body.code, res.body.permission], what).toEqual([403, "permission_missing", op.permission]);
      }
    }
    // Only admins hold any of them by the matrix as written; approvers approve and promote deployments.
    const approverMay = operations.filter((op) => permissionGranted(ROLE_PERMISSIONS.approver, op.permission)).map((op) => op.key);
    expect(approverMay.sort()).toEqual(["POST /api/v1/factory/rules/deployments/{id}/approve", "POST /api/v1/factory/rules/deployments/{id}/promote"]);
  });
});
