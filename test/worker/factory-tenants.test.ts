import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditLogs } from "../../src/factory/schema";
import { runAs } from "../../src/platform/db";
import { call, expectProblem, roundTrips, type CallResult } from "./helpers";
import { as, createdTenant, db, operatorBearer, seedUser } from "./factory-helpers";

const one = async (requestId: string) => expect((await roundTrips(requestId)).neon).toBe(1);

describe("factory tenants (platform operator)", () => {
  it("creates a tenant with its first admin in one round trip, both audited as the operator", async () => {
    const { tenantId, admin, body, requestId } = await createdTenant({ subscriptionPlan: "trial", maxUsers: 3, settings: { timezone: "Asia/Seoul", locale: "ko-KR" } });
    await one(requestId);
    expect(body.tenant).toMatchObject({ id: tenantId, status: "active", subscriptionPlan: "trial", maxUsers: 3, settings: { timezone: "Asia/Seoul" } });
    expect(body.admin).toMatchObject({ id: admin.userId, tenantId, role: "admin", status: "active", username: "admin" });
    expect(body.admin).not.toHaveProperty("passwordHash");

    const me = await call("GET", "/api/v1/factory/me", { token: admin.bearer });
    expect(me.status).toBe(200);
    expect(me.body.permissions).toEqual(["*:*"]);

    const [rows] = await runAs(db, as(tenantId, admin.userId), [db.select().from(auditLogs).where(eq(auditLogs.tenantId, tenantId))] as const);
    expect(rows.map((r) => `${r.actorType} ${r.action} ${r.resourceType} ${r.resourceId}`).sort()).toEqual(
      [`system create tenant ${tenantId}`, `system create user ${admin.userId}`].sort(),
    );
    expect(rows.every((r) => r.actorId === null && typeof r.actorSubject === "string" && r.traceId === requestId)).toBe(true);
    // password_hash never reaches an audit state.
    expect(rows.find((r) => r.resourceType === "user")!.afterState).not.toHaveProperty("password_hash");
  });

  it("stores a password_hash that can never verify: the identity provider signs users in", async () => {
    const { tenantId, admin } = await createdTenant();
    const [rows] = await runAs(db, as(tenantId, admin.userId), [
      db.execute<{ hash: string; verifies: boolean }>(
        // pgcrypto's crypt() with the stored value as salt: a valid hash would reproduce itself for its password.
        sql`select password_hash as hash, password_hash like '$%' as verifies from factory.users where id = ${admin.userId}::uuid`,
      ),
    ] as const);
    expect(rows.rows[0]).toEqual({ hash: "!identity-provider", verifies: false });
  });

  it("lists, reads and changes tenants; only the platform operator may", async () => {
    const { tenantId, admin } = await createdTenant();
    const operator = await operatorBearer();
    const got = await call("GET", `/api/v1/factory/platform/tenants/${tenantId}`, { token: operator });
    expect(got.status).toBe(200);
    await one(got.requestId);

    const changed = await call("PATCH", `/api/v1/factory/platform/tenants/${tenantId}`, { token: operator, body: { subscriptionPlan: "enterprise", maxJudgmentsPerDay: 50 } });
    expect(changed.body).toMatchObject({ subscriptionPlan: "enterprise", maxJudgmentsPerDay: 50 });
    await one(changed.requestId);
    expectProblem(await call("PATCH", `/api/v1/factory/platform/tenants/${crypto.randomUUID()}`, { token: operator, body: { maxUsers: 5 } }), 404, "not_found");

    let cursor: string | null = null;
    const seen: string[] = [];
    do {
      const page: CallResult<{ items: { id: string }[]; nextCursor: string | null }> = await call("GET", `/api/v1/factory/platform/tenants?limit=50&status=active${cursor ? `&cursor=${cursor}` : ""}`, { token: operator });
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((t) => t.id));
      cursor = page.body.nextCursor;
    } while (cursor && !seen.includes(tenantId));
    expect(seen).toContain(tenantId);

    for (const path of [`/api/v1/factory/platform/tenants/${tenantId}`, "/api/v1/factory/platform/tenants"]) {
      const refused = await call("GET", path, { token: admin.bearer });
      expectProblem(refused, 403, "platform_operator_required");
    }
  });

  it("suspends a tenant (its users are refused, 403 tenant_suspended) and reactivates it; other moves are 409", async () => {
    const { tenantId, admin } = await createdTenant();
    const operator = await operatorBearer();
    const suspended = await call("POST", `/api/v1/factory/platform/tenants/${tenantId}/suspend`, { token: operator });
    expect(suspended.body.status).toBe("suspended");
    await one(suspended.requestId);
    const refused = await call("GET", "/api/v1/factory/me", { token: admin.bearer });
    expectProblem(refused, 403, "tenant_suspended");
    expect(refused.body.detail).toMatch(/^tenant plant-[0-9a-f-]+ is suspended$/);

    const again = await call("POST", `/api/v1/factory/platform/tenants/${tenantId}/suspend`, { token: operator });
    expectProblem(again, 409, "invalid_state");
    await one(again.requestId);
    expectProblem(await call("POST", `/api/v1/factory/platform/tenants/${crypto.randomUUID()}/activate`, { token: operator }), 404, "not_found");

    expect((await call("POST", `/api/v1/factory/platform/tenants/${tenantId}/activate`, { token: operator })).body.status).toBe("active");
    expect((await call("GET", "/api/v1/factory/me", { token: admin.bearer })).status).toBe(200);
    const [rows] = await runAs(db, as(tenantId, admin.userId), [
      db.select({ action: auditLogs.action, diff: auditLogs.diff }).from(auditLogs).where(and(eq(auditLogs.tenantId, tenantId), eq(auditLogs.resourceType, "tenant"))),
    ] as const);
    const suspend = rows.find((r) => r.action === "suspend")!;
    expect(suspend.diff).toContainEqual({ op: "replace", path: "/status", value: "suspended" });
    expect(rows.map((r) => r.action).sort()).toEqual(["activate", "create", "suspend"]);
  });

  it("refuses a duplicate name and a first admin without a seat, keeping nothing", async () => {
    const { body } = await createdTenant();
    const operator = await operatorBearer();
    const subject = crypto.randomUUID();
    const admin = { subject, email: `${subject}@factory.test`, username: "admin" };
    const dup = await call("POST", "/api/v1/factory/platform/tenants", { token: operator, body: { name: body.tenant.name, displayName: "x", admin } });
    expectProblem(dup, 409, "unique_violation");
    const full = await call("POST", "/api/v1/factory/platform/tenants", { token: operator, body: { name: `zero-${subject.slice(0, 8)}`, displayName: "x", maxUsers: 0, admin } });
    expectProblem(full, 409, "max_users_reached");
  });
});

describe("factory tenant (its own admins)", () => {
  it("reads and changes its display name and settings only, audited; others lack the permission", async () => {
    const { tenantId, admin } = await createdTenant();
    const got = await call("GET", "/api/v1/factory/tenant", { token: admin.bearer });
    expect(got.body).toMatchObject({ id: tenantId, status: "active" });
    await one(got.requestId);

    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const changed = await call("PATCH", "/api/v1/factory/tenant", {
      token: admin.bearer,
      headers: { traceparent, "CF-Connecting-IP": "2001:DB8::7", "User-Agent": "PlantConsole/2" },
      body: { displayName: "Renamed", settings: { locale: "en-US", llm_config: { model: "m", api_key: "sk-secret" } } },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ displayName: "Renamed", settings: { locale: "en-US" } });
    await one(changed.requestId);
    const [rows] = await runAs(db, as(tenantId, admin.userId), [
      db.select().from(auditLogs).where(and(eq(auditLogs.tenantId, tenantId), eq(auditLogs.action, "update"))),
    ] as const);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actorId: admin.userId, actorType: "user", traceId: "0af7651916cd43dd8448eb211c80319c", ipAddress: "2001:db8::7", userAgent: "PlantConsole/2" });
    expect(JSON.stringify(rows[0])).not.toContain("sk-secret");
    expect(rows[0]!.diff).toContainEqual({ op: "replace", path: "/display_name", value: "Renamed" });

    // The plan and limits are the platform operator's: not even in the schema here.
    expectProblem(await call("PATCH", "/api/v1/factory/tenant", { token: admin.bearer, body: { maxUsers: 1000 } }), 422, "validation_failed");
    const viewer = await seedUser(tenantId, "viewer");
    const refused = await call("GET", "/api/v1/factory/tenant", { token: viewer.bearer });
    expectProblem(refused, 403, "permission_missing");
    expect(refused.body.permission).toBe("tenant:read");
    await one(refused.requestId);
  });

  it("never answers with a settings secret; sending back what it read keeps them, leaving them out removes them", async () => {
    const { tenantId, admin } = await createdTenant();
    const webhookSecret = `whsec_${btoa("a webhook secret of 32 bytes!!!!")}`;
    const settings = { locale: "ko-KR", llm_config: { model: "m", api_key: "sk-tenant-secret" }, notification_config: { webhook_url: "https://alarms.example/hook", webhook_secret: webhookSecret } };
    const stored = async () => {
      const [rows] = await runAs(db, as(tenantId, admin.userId), [db.execute<{ settings: Record<string, any> }>(sql`select settings from factory.tenants where id = ${tenantId}::uuid`)] as const);
      return rows.rows[0]!.settings;
    };
    const answers: CallResult[] = [];
    answers.push(await call("PATCH", "/api/v1/factory/tenant", { token: admin.bearer, body: { settings } }));
    answers.push(await call("GET", "/api/v1/factory/tenant", { token: admin.bearer }));
    answers.push(await call("GET", `/api/v1/factory/platform/tenants/${tenantId}`, { token: await operatorBearer() }));
    answers.push(await call("GET", "/api/v1/factory/platform/tenants?limit=100", { token: await operatorBearer() }));
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(JSON.stringify(a.body)).not.toContain("sk-tenant-secret");
      expect(JSON.stringify(a.body)).not.toContain(webhookSecret);
    }
    const read = answers[1]!.body.settings;
    expect(read).toMatchObject({ locale: "ko-KR", llm_config: { model: "m", api_key: "(kept secret)" }, notification_config: { webhook_secret: "(kept secret)" } });

    // Sent back as read (another member changed): the secrets stay as stored.
    const again = await call("PATCH", "/api/v1/factory/tenant", { token: admin.bearer, body: { settings: { ...read, locale: "en-US" } } });
    expect(again.status).toBe(200);
    expect(again.body.settings.llm_config.api_key).toBe("(kept secret)");
    await one(again.requestId);
    expect(await stored()).toMatchObject({ locale: "en-US", llm_config: { api_key: "sk-tenant-secret" }, notification_config: { webhook_secret: webhookSecret } });

    // A new value replaces; a member left out goes.
    await call("PATCH", `/api/v1/factory/platform/tenants/${tenantId}`, { token: await operatorBearer(), body: { settings: { llm_config: { model: "m", api_key: "sk-rotated" }, notification_config: { webhook_url: "https://alarms.example/hook" } } } });
    const after = await stored();
    expect(after.llm_config.api_key).toBe("sk-rotated");
    expect(after.notification_config).not.toHaveProperty("webhook_secret");
    // KEPT with nothing stored keeps nothing: no placeholder is ever stored.
    await call("PATCH", "/api/v1/factory/tenant", { token: admin.bearer, body: { settings: { notification_config: { webhook_secret: "(kept secret)" } } } });
    expect((await stored()).notification_config).toEqual({});
  });
});
