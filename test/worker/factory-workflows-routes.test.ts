import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditLogs, workflowInstances, workflows, workflowSteps } from "../../src/factory/schema";
import { webhookSecretOwner, workflowWebhookSecrets } from "../../src/factory/workflow-trigger-sql";
import { servicePrincipal } from "../../src/platform/auth";
import { loadConfig } from "../../src/platform/config";
import { runAs } from "../../src/platform/db";
import { unseal } from "../../src/platform/sealed-secrets";
import { call, expectProblem, roundTrips, testEnv } from "./helpers";
import { db, seedTenant, seedUser } from "./factory-helpers";
import { changed, sampleDsl } from "./factory-workflows-helpers";

const BASE = "/api/v1/factory/workflows";
/** Test-side reads across tenants, as the jobs do. */
const service = servicePrincipal(crypto.randomUUID());

const uniqueName = () => `wf_${crypto.randomUUID().slice(0, 8)}`;
const bodyFor = (name = uniqueName(), extra: Record<string, unknown> = {}) => ({ name, dsl: sampleDsl(name), ...extra });
const oneTrip = async (requestId: string) => expect(await roundTrips(requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });

async function created(bearer: string, body: Record<string, unknown> = bodyFor()) {
  const res = await call("POST", BASE, { token: bearer, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

describe("factory workflows: definitions", () => {
  it("defines version 1 with its steps and digest in one round trip, audited; reads it back; other tenants get 404", async () => {
    const { tenantId, admin } = await seedTenant();
    const other = await seedTenant();
    const body = bodyFor(uniqueName(), { description: "line defects", tags: ["quality", "line-1"], metadata: { owner: "qa" }, maxRetry: 2 });
    const res = await call("POST", BASE, { token: admin.bearer, body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    await oneTrip(res.requestId);
    expect(res.body).toMatchObject({
      tenantId,
      name: body.name,
      version: 1,
      isActive: false,
      activatedAt: null,
      description: "line defects",
      dslJson: body.dsl,
      dslDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
      triggerConfig: { type: "manual", enabled: true },
      timeoutSeconds: 300,
      maxRetry: 2,
      tags: ["quality", "line-1"],
      metadata: { owner: "qa" },
      createdBy: admin.userId,
    });
    expect(res.body).not.toHaveProperty("webhookSecret");
    expect(res.body.steps.map((s: { nodeId: string; stepOrder: number; nodeType: string }) => [s.stepOrder, s.nodeId, s.nodeType])).toEqual([
      [0, "data_collect", "DATA"],
      [1, "defect_judgment", "JUDGMENT"],
      [2, "route", "SWITCH"],
      [3, "approve", "APPROVAL"],
      [4, "notify", "ACTION"],
    ]);
    // max_attempts: the node's own 5, else max_retry (2); control nodes 1.
    expect(res.body.steps.map((s: { retryPolicy: { max_attempts: number } }) => s.retryPolicy.max_attempts)).toEqual([5, 2, 1, 1, 2]);
    expect(res.body.steps[3]).toMatchObject({ timeoutSeconds: 3600, config: body.dsl.nodes[3].config });

    const one = await call("GET", `${BASE}/${res.body.id}`, { token: admin.bearer });
    expect(one.status).toBe(200);
    await oneTrip(one.requestId);
    expect(one.body).toEqual(res.body);

    const [audit] = await runAs(db, service, [db.select().from(auditLogs).where(and(eq(auditLogs.tenantId, tenantId), eq(auditLogs.resourceId, res.body.id)))] as const);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: "create", resourceType: "workflow", actorId: admin.userId });

    expectProblem(await call("GET", `${BASE}/${res.body.id}`, { token: other.admin.bearer }), 404, "not_found");
    expect((await call("GET", BASE, { token: other.admin.bearer })).body.items).toEqual([]);
  });

  it("keeps the digest when only key order differs, and the dsl as sent", async () => {
    const { admin } = await seedTenant();
    const name = uniqueName();
    const a = await created(admin.bearer, bodyFor(name));
    const reversed = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reversed) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)])) : v;
    const b = await call("POST", `${BASE}/${a.id}/versions`, { token: admin.bearer, body: { dsl: reversed(sampleDsl(name)) } });
    expect(b.status, JSON.stringify(b.body)).toBe(201);
    expect(b.body.dslDigest).toBe(a.dslDigest);
    const c = await call("POST", `${BASE}/${a.id}/versions`, { token: admin.bearer, body: { dsl: changed(sampleDsl(name), (d) => (d.description = "other")) } });
    expect(c.body.dslDigest).not.toBe(a.dslDigest);
  });

  it("refuses a faulty definition with a 422 naming every fault by pointer and path; nothing is written", async () => {
    const { tenantId, admin } = await seedTenant();
    const name = uniqueName();
    const dsl = changed(sampleDsl(name), (d) => {
      d.nodes[0].next = "ghost";
      d.nodes[2].config.cases[0].when = "nodes.defect_judgment.result ==";
      d.nodes.push({ id: "data_collect", type: "WAIT", config: { seconds: 1 } });
    });
    const res = await call("POST", BASE, { token: admin.bearer, body: { name, dsl, triggerConfig: { type: "schedule", cron: "61 * * * *" } } });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors.map((e: { pointer: string; path: string }) => [e.pointer, e.path])).toEqual([
      ["/dsl/nodes/0/next", "json.dsl.nodes.0.next"],
      ["/dsl/nodes/2/config/cases/0/when", "json.dsl.nodes.2.config.cases.0.when"],
      ["/dsl/nodes/5/id", "json.dsl.nodes.5.id"],
      ["/triggerConfig/cron", "json.triggerConfig.cron"],
    ]);
    expect(res.body.detail).toContain("/dsl/nodes/0/next");
    expect(await roundTrips(res.requestId)).toMatchObject({ neon: 0 });

    const mismatch = await call("POST", BASE, { token: admin.bearer, body: { name, dsl: sampleDsl("another_name") } });
    expectProblem(mismatch, 422, "validation_failed");
    expect(mismatch.body.errors).toEqual([{ path: "json.dsl.name", pointer: "/dsl/name", message: `must be the workflow's name, '${name}'` }]);

    const timeouts = await call("POST", BASE, { token: admin.bearer, body: { name, dsl: { ...sampleDsl(name), timeout_seconds: 100 }, timeoutSeconds: 200 } });
    expect(timeouts.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(["/timeoutSeconds"]);

    const [rows] = await runAs(db, service, [db.select().from(workflows).where(eq(workflows.tenantId, tenantId))] as const);
    expect(rows).toEqual([]);
  });

  it("takes the DSL's timeout_seconds when the body gives none; a second workflow of the same name is a 409", async () => {
    const { admin } = await seedTenant();
    const name = uniqueName();
    const first = await created(admin.bearer, { name, dsl: { ...sampleDsl(name), timeout_seconds: 7200 } });
    expect(first.timeoutSeconds).toBe(7200);
    const again = await call("POST", BASE, { token: admin.bearer, body: bodyFor(name) });
    expectProblem(again, 409, "workflow_name_taken");
    await oneTrip(again.requestId);
  });

  it("serves the DSL's JSON Schema, also as a component of /openapi.json that the body references", async () => {
    const { admin } = await seedTenant();
    const res = await call("GET", `${BASE}/dsl-schema`, { token: admin.bearer });
    expect(res.status).toBe(200);
    await oneTrip(res.requestId);
    expect(res.body).toMatchObject({ $schema: "https://json-schema.org/draft/2020-12/schema", type: "object", properties: { nodes: { type: "array" } } });
    const doc = (await call("GET", "/openapi.json")).body;
    const { $schema: _s, $id: _i, ...component } = res.body;
    expect(doc.components.schemas.FactoryWorkflowDsl).toEqual(component);
    expect(JSON.stringify(doc.components.schemas.FactoryWorkflowInput)).toContain("#/components/schemas/FactoryWorkflowDsl");
  });
});

describe("factory workflows: versions and activation", () => {
  it("adds versions of the same name, inheriting what the body leaves out; lists them newest first", async () => {
    const { admin } = await seedTenant();
    const name = uniqueName();
    const v1 = await created(admin.bearer, bodyFor(name, { tags: ["a"], triggerConfig: { type: "schedule", cron: "0 */2 * * *", timezone: "Asia/Seoul" }, maxRetry: 5 }));
    expect(v1.triggerConfig).toEqual({ type: "schedule", cron: "0 */2 * * *", timezone: "Asia/Seoul", enabled: true });
    const v2 = await call("POST", `${BASE}/${v1.id}/versions`, { token: admin.bearer, body: { dsl: sampleDsl(name), description: "second" } });
    expect(v2.status, JSON.stringify(v2.body)).toBe(201);
    await oneTrip(v2.requestId);
    expect(v2.body).toMatchObject({ name, version: 2, description: "second", tags: ["a"], triggerConfig: v1.triggerConfig, maxRetry: 5, isActive: false });
    expect(v2.body.steps[1].retryPolicy.max_attempts).toBe(5);
    const v3 = await call("POST", `${BASE}/${v2.body.id}/versions`, { token: admin.bearer, body: { dsl: sampleDsl(name), tags: [], triggerConfig: null } });
    expect(v3.body).toMatchObject({ version: 3, tags: [], triggerConfig: { type: "manual", enabled: true }, description: "second" });

    const list = await call("GET", `${BASE}/${v1.id}/versions?limit=2`, { token: admin.bearer });
    expect(list.status).toBe(200);
    await oneTrip(list.requestId);
    expect(list.body.items.map((w: { version: number }) => w.version)).toEqual([3, 2]);
    const rest = await call("GET", `${BASE}/${v1.id}/versions?limit=2&cursor=${list.body.nextCursor}`, { token: admin.bearer });
    expect(rest.body).toMatchObject({ items: [{ version: 1 }], nextCursor: null });

    const wrongName = await call("POST", `${BASE}/${v1.id}/versions`, { token: admin.bearer, body: { dsl: sampleDsl("not_this_one") } });
    expectProblem(wrongName, 422, "validation_failed");
    expect(wrongName.body.errors[0]).toMatchObject({ pointer: "/dsl/name" });
    expectProblem(await call("POST", `${BASE}/${crypto.randomUUID()}/versions`, { token: admin.bearer, body: { dsl: sampleDsl(name) } }), 404, "not_found");
    expectProblem(await call("GET", `${BASE}/${crypto.randomUUID()}/versions`, { token: admin.bearer }), 404, "not_found");
  });

  it("numbers concurrent new versions one after another (no 500, no duplicate)", async () => {
    const { admin } = await seedTenant();
    const name = uniqueName();
    const v1 = await created(admin.bearer, bodyFor(name));
    const results = await Promise.all(Array.from({ length: 6 }, () => call("POST", `${BASE}/${v1.id}/versions`, { token: admin.bearer, body: { dsl: sampleDsl(name) } })));
    expect(results.map((r) => r.status).filter((s) => s !== 201 && s !== 409)).toEqual([]);
    const versions = results.filter((r) => r.status === 201).map((r) => r.body.version as number);
    expect(new Set(versions).size).toBe(versions.length);
    expect(versions.sort((a, b) => a - b)).toEqual(Array.from({ length: versions.length }, (_, i) => i + 2));
  });

  it("activates one version per name atomically, deactivates, and answers 409 for no change", async () => {
    const { tenantId, admin } = await seedTenant();
    const name = uniqueName();
    const v1 = await created(admin.bearer, bodyFor(name));
    const v2 = (await call("POST", `${BASE}/${v1.id}/versions`, { token: admin.bearer, body: { dsl: sampleDsl(name) } })).body;
    const on1 = await call("POST", `${BASE}/${v1.id}/activate`, { token: admin.bearer });
    expect(on1.status).toBe(200);
    await oneTrip(on1.requestId);
    expect(on1.body).toMatchObject({ id: v1.id, isActive: true, activatedAt: expect.any(String) });
    expectProblem(await call("POST", `${BASE}/${v1.id}/activate`, { token: admin.bearer }), 409, "already_active");

    const on2 = await call("POST", `${BASE}/${v2.id}/activate`, { token: admin.bearer });
    expect(on2.body).toMatchObject({ id: v2.id, isActive: true });
    const active = await call("GET", `${BASE}?name=${name}&active=true`, { token: admin.bearer });
    expect(active.body.items.map((w: { id: string }) => w.id)).toEqual([v2.id]);
    const [audit] = await runAs(db, service, [db.select().from(auditLogs).where(and(eq(auditLogs.tenantId, tenantId), eq(auditLogs.resourceType, "workflow")))] as const);
    expect(audit.filter((a) => a.resourceId === v1.id).map((a) => a.action).sort()).toEqual(["activate", "create", "deactivate"]);

    // Racing activations of both versions: exactly one ends active.
    const race = await Promise.all([v1.id, v2.id, v1.id, v2.id].map((id) => call("POST", `${BASE}/${id}/activate`, { token: admin.bearer })));
    expect(race.map((r) => r.status).filter((s) => s !== 200 && s !== 409)).toEqual([]);
    const [states] = await runAs(db, service, [db.select({ id: workflows.id, isActive: workflows.isActive }).from(workflows).where(and(eq(workflows.tenantId, tenantId), eq(workflows.name, name)))] as const);
    expect(states.filter((s) => s.isActive)).toHaveLength(1);

    const activeId = states.find((s) => s.isActive)!.id;
    const off = await call("POST", `${BASE}/${activeId}/deactivate`, { token: admin.bearer });
    expect(off.body).toMatchObject({ id: activeId, isActive: false });
    await oneTrip(off.requestId);
    expectProblem(await call("POST", `${BASE}/${activeId}/deactivate`, { token: admin.bearer }), 409, "not_active");
    expectProblem(await call("POST", `${BASE}/${crypto.randomUUID()}/activate`, { token: admin.bearer }), 404, "not_found");
  });

  it("deletes an inactive version that never ran; refuses an active one or one with instances", async () => {
    const { tenantId, admin } = await seedTenant();
    const name = uniqueName();
    const v1 = await created(admin.bearer, bodyFor(name));
    const v2 = (await call("POST", `${BASE}/${v1.id}/versions`, { token: admin.bearer, body: { dsl: sampleDsl(name) } })).body;
    await call("POST", `${BASE}/${v2.id}/activate`, { token: admin.bearer });
    expectProblem(await call("DELETE", `${BASE}/${v2.id}`, { token: admin.bearer }), 409, "workflow_active");
    await runAs(db, service, [db.insert(workflowInstances).values({ workflowId: v1.id, tenantId, status: "COMPLETED", triggerType: "manual", traceId: "t" })] as const);
    const inUse = await call("DELETE", `${BASE}/${v1.id}`, { token: admin.bearer });
    expectProblem(inUse, 409, "workflow_in_use");
    expect(inUse.body.detail).toContain("has instances");
    await call("POST", `${BASE}/${v2.id}/deactivate`, { token: admin.bearer });
    const gone = await call("DELETE", `${BASE}/${v2.id}`, { token: admin.bearer });
    expect(gone.status).toBe(204);
    await oneTrip(gone.requestId);
    const [steps] = await runAs(db, service, [db.select().from(workflowSteps).where(eq(workflowSteps.workflowId, v2.id))] as const);
    expect(steps).toEqual([]);
    expectProblem(await call("DELETE", `${BASE}/${v2.id}`, { token: admin.bearer }), 404, "not_found");
  });
});

describe("factory workflows: limits, search, roles", () => {
  it("holds max_workflows exactly under concurrency, counting names: versions of a name are free", async () => {
    const { admin } = await seedTenant({ maxWorkflows: 3 });
    const first = await created(admin.bearer);
    const results = await Promise.all(Array.from({ length: 6 }, () => call("POST", BASE, { token: admin.bearer, body: bodyFor() })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 409, 409, 409, 409]);
    const refused = results.find((r) => r.status === 409)!;
    expectProblem(refused, 409, "max_workflows_reached");
    expect(refused.body).toMatchObject({ maxWorkflows: 3, workflowsInUse: 3 });
    const v2 = await call("POST", `${BASE}/${first.id}/versions`, { token: admin.bearer, body: { dsl: sampleDsl(first.name) } });
    expect(v2.status).toBe(201);
  });

  it("finds versions by tag (GIN), name and active, newest first in pages", async () => {
    const { admin } = await seedTenant();
    const a = await created(admin.bearer, bodyFor(uniqueName(), { tags: ["paint", "line-1"] }));
    const b = await created(admin.bearer, bodyFor(uniqueName(), { tags: ["paint"] }));
    await created(admin.bearer, bodyFor(uniqueName(), { tags: ["weld"] }));
    await call("POST", `${BASE}/${b.id}/activate`, { token: admin.bearer });

    const paint = await call("GET", `${BASE}?tag=paint`, { token: admin.bearer });
    expect(paint.body.items.map((w: { id: string }) => w.id)).toEqual([b.id, a.id]);
    await oneTrip(paint.requestId);
    expect((await call("GET", `${BASE}?tag=line-1`, { token: admin.bearer })).body.items.map((w: { id: string }) => w.id)).toEqual([a.id]);
    expect((await call("GET", `${BASE}?tag=paint&active=true`, { token: admin.bearer })).body.items.map((w: { id: string }) => w.id)).toEqual([b.id]);
    expect((await call("GET", `${BASE}?name=${a.name}`, { token: admin.bearer })).body.items.map((w: { id: string }) => w.id)).toEqual([a.id]);
    const page1 = await call("GET", `${BASE}?limit=2`, { token: admin.bearer });
    const page2 = await call("GET", `${BASE}?limit=2&cursor=${page1.body.nextCursor}`, { token: admin.bearer });
    expect([...page1.body.items, ...page2.body.items].map((w: { id: string }) => w.id)).toHaveLength(3);
    expect(page2.body.nextCursor).toBeNull();
    expectProblem(await call("GET", `${BASE}?tag=two%20words`, { token: admin.bearer }), 422, "validation_failed");
  });

  it("lets a viewer and an operator read but not define, version, activate or delete", async () => {
    const { tenantId, admin } = await seedTenant();
    const wf = await created(admin.bearer);
    for (const role of ["viewer", "operator", "approver"] as const) {
      const user = await seedUser(tenantId, role);
      const read = await call("GET", `${BASE}/${wf.id}`, { token: user.bearer });
      expect(read.status).toBe(200);
      expect((await call("GET", `${BASE}/dsl-schema`, { token: user.bearer })).status).toBe(200);
      const refused = await call("POST", BASE, { token: user.bearer, body: bodyFor() });
      expectProblem(refused, 403, "permission_missing");
      expect(refused.body.permission).toBe("workflow:create");
      await oneTrip(refused.requestId);
      expect((await call("POST", `${BASE}/${wf.id}/versions`, { token: user.bearer, body: { dsl: sampleDsl(wf.name) } })).body.permission).toBe("workflow:update");
      expect((await call("POST", `${BASE}/${wf.id}/activate`, { token: user.bearer })).body.permission).toBe("workflow:update");
      expect((await call("DELETE", `${BASE}/${wf.id}`, { token: user.bearer })).body.permission).toBe("workflow:delete");
    }
    const widened = await seedUser(tenantId, "operator", { permissions: ["workflow:create"] });
    expect((await call("POST", BASE, { token: widened.bearer, body: bodyFor() })).status).toBe(201);
  });
});

describe("factory workflows: webhook secrets", () => {
  const keys = loadConfig(testEnv).FACTORY_CONNECTOR_KEYS!;

  it("shows a webhook trigger's whsec_ secret once, stores it sealed, rotates it; manual workflows have none", async () => {
    const { tenantId, admin } = await seedTenant();
    const wf = await call("POST", BASE, { token: admin.bearer, body: bodyFor(uniqueName(), { triggerConfig: { type: "webhook" } }) });
    expect(wf.status, JSON.stringify(wf.body)).toBe(201);
    await oneTrip(wf.requestId);
    const secret: string = wf.body.webhookSecret;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const readSealed = async (id: string) => {
      const [rows] = await runAs(db, service, [db.select().from(workflowWebhookSecrets).where(eq(workflowWebhookSecrets.workflowId, id))] as const);
      return rows[0]!;
    };
    const stored = await readSealed(wf.body.id);
    expect(stored.secretSealed).toMatch(/^v1\.k2026\./);
    expect(stored.secretSealed).not.toContain(secret.slice(6));
    expect(await unseal(keys, stored.secretSealed, webhookSecretOwner(tenantId, wf.body.id))).toBe(secret);

    const again = await call("GET", `${BASE}/${wf.body.id}`, { token: admin.bearer });
    expect(JSON.stringify(again.body)).not.toContain(secret);
    expect(again.body).not.toHaveProperty("webhookSecret");

    const rotated = await call("POST", `${BASE}/${wf.body.id}/webhook-secret/rotate`, { token: admin.bearer });
    expect(rotated.status).toBe(200);
    await oneTrip(rotated.requestId);
    expect(rotated.body).toEqual({ workflowId: wf.body.id, webhookSecret: expect.stringMatching(/^whsec_/) });
    expect(rotated.body.webhookSecret).not.toBe(secret);
    const after = await readSealed(wf.body.id);
    expect(after.rotatedAt).not.toBeNull();
    expect(await unseal(keys, after.secretSealed, webhookSecretOwner(tenantId, wf.body.id))).toBe(rotated.body.webhookSecret);

    // A new version inheriting the webhook trigger gets its own secret, shown once.
    const v2 = await call("POST", `${BASE}/${wf.body.id}/versions`, { token: admin.bearer, body: { dsl: sampleDsl(wf.body.name) } });
    expect(v2.body.webhookSecret).toMatch(/^whsec_/);
    const [audits] = await runAs(db, service, [db.select().from(auditLogs).where(eq(auditLogs.tenantId, tenantId))] as const);
    expect(audits.map((a) => a.action)).toContain("rotate_webhook_secret");
    for (const s of [secret, rotated.body.webhookSecret, v2.body.webhookSecret]) expect(JSON.stringify(audits)).not.toContain(s.slice(6));

    const manual = await created(admin.bearer);
    expectProblem(await call("POST", `${BASE}/${manual.id}/webhook-secret/rotate`, { token: admin.bearer }), 409, "not_webhook_triggered");
    const v2manual = await call("POST", `${BASE}/${manual.id}/versions`, { token: admin.bearer, body: { dsl: sampleDsl(manual.name) } });
    expect(v2manual.body).not.toHaveProperty("webhookSecret");
    expectProblem(await call("POST", `${BASE}/${crypto.randomUUID()}/webhook-secret/rotate`, { token: admin.bearer }), 404, "not_found");
  });

  it("keeps trigger tables to their tenant", async () => {
    const a = await seedTenant();
    const b = await seedTenant();
    const wf = await call("POST", BASE, { token: a.admin.bearer, body: bodyFor(uniqueName(), { triggerConfig: { type: "webhook" } }) });
    const asB = { userId: b.admin.userId, tenantId: b.tenantId, roles: [], permissions: [] };
    const [seen] = await runAs(db, asB, [db.execute(sql`select count(*)::int as n from factory.workflow_webhook_secrets where workflow_id = ${wf.body.id}::uuid`)] as const);
    expect(seen.rows[0]).toEqual({ n: 0 });
    await expect(
      runAs(db, asB, [db.execute(sql`insert into factory.workflow_schedule_slots (workflow_id, slot_at, tenant_id) values (${wf.body.id}::uuid, now(), ${a.tenantId}::uuid)`)] as const),
    ).rejects.toMatchObject({ code: "42501" });
  });
});
