import { and, asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { inputHash } from "../../src/platform/canonical-json";
import { runAs } from "../../src/platform/db";
import { assignAbGroup } from "../../src/factory/prompt-variant";
import { auditLogs } from "../../src/factory/schema";
import { as, db, seedTenant, seedUser, type FactoryUser } from "./factory-helpers";
import { defectInput, execute, expectCreated, llmScenario, TEST_USER_PROMPT } from "./factory-judgments-helpers";
import { call, expectProblem, roundTrips } from "./helpers";

const promptBody = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  purpose: "judge a line's defect rate",
  templateType: "judgment",
  modelConfig: { model: "gpt-4o", temperature: 0.3 },
  variables: { required: ["input_data", "llm_test"], optional: ["rule_result"], defaults: { tone: "professional" } },
  bodies: [{ locale: "ko-KR", systemPrompt: "You judge production lines in a {{tone}} tone.", userPromptTemplate: TEST_USER_PROMPT }],
  ...extra,
});
const create = (user: FactoryUser, body: unknown) => call("POST", "/api/v1/factory/prompts", { token: user.bearer, body });
const activate = (user: FactoryUser, id: string) => call("POST", `/api/v1/factory/prompts/${id}/activate`, { token: user.bearer });
const auditOf = async (user: FactoryUser, id: string) => {
  const [rows] = await runAs(db, as(user.tenantId, user.userId), [
    db.select().from(auditLogs).where(and(eq(auditLogs.resourceType, "prompt_template"), eq(auditLogs.resourceId, id))).orderBy(asc(auditLogs.createdAt)),
  ] as const);
  return rows;
};

describe("prompt templates (§7)", () => {
  it("numbers versions per name, stores bodies per locale, and lists them", async () => {
    const { admin } = await seedTenant();
    const v1 = await create(admin, promptBody("defect"));
    expect(v1.status, JSON.stringify(v1.body)).toBe(201);
    expect(v1.body).toMatchObject({ name: "defect", version: 1, isActive: false, templateType: "judgment", aBTestGroup: null, createdBy: admin.userId });
    expect(v1.body.bodies).toEqual([expect.objectContaining({ locale: "ko-KR", templateId: v1.body.id, userPromptTemplate: TEST_USER_PROMPT })]);
    expect(await roundTrips(v1.requestId)).toMatchObject({ neon: 1 });
    const v2 = await create(admin, promptBody("defect", { bodies: [...promptBody("defect").bodies, { locale: "en-US", systemPrompt: "Judge.", userPromptTemplate: "Line {{input_data.line_code}}" }] }));
    expect(v2.body).toMatchObject({ version: 2 });
    expect(v2.body.bodies.map((b: { locale: string }) => b.locale)).toEqual(["en-US", "ko-KR"]);
    expect((await create(admin, promptBody("other"))).body.version).toBe(1);

    const got = await call("GET", `/api/v1/factory/prompts/${v2.body.id}`, { token: admin.bearer });
    expect(got.body).toEqual(v2.body);
    const listed = await call("GET", "/api/v1/factory/prompts?name=defect", { token: admin.bearer });
    expect(listed.body.items.map((p: { version: number }) => p.version)).toEqual([2, 1]);
    expect(await roundTrips(listed.requestId)).toMatchObject({ neon: 1 });
    expect(await roundTrips(got.requestId)).toMatchObject({ neon: 1 });
    expect((await call("GET", "/api/v1/factory/prompts?active=true", { token: admin.bearer })).body.items).toEqual([]);
  });

  it("refuses a template that does not parse, a locale given twice, and callers without prompt:create", async () => {
    const { admin } = await seedTenant();
    const broken = await create(admin, promptBody("broken", { bodies: [{ locale: "ko-KR", systemPrompt: "ok", userPromptTemplate: "{{#if a}}never closed" }] }));
    expectProblem(broken, 422, "validation_failed");
    expect(broken.body.errors).toEqual([{ path: "json.bodies.0.userPromptTemplate", message: "{{#if}} at 0 is never closed" }]);
    const twice = await create(admin, promptBody("twice", { bodies: [promptBody("x").bodies[0], promptBody("x").bodies[0]] }));
    expectProblem(twice, 422, "validation_failed");
    expect(twice.body.errors[0].path).toBe("json.bodies.1.locale");
    const operator = await seedUser(admin.tenantId, "operator");
    const refused = await create(operator, promptBody("mine"));
    expectProblem(refused, 403, "permission_missing");
    expect(refused.body.permission).toBe("prompt:create");
    expect((await call("GET", "/api/v1/factory/prompts", { token: admin.bearer })).body.items).toEqual([]);
  });

  it("deploys one active version per name and group, retiring the previous one, each with its audit row", async () => {
    const { admin } = await seedTenant();
    const v1 = (await create(admin, promptBody("defect"))).body;
    const v2 = (await create(admin, promptBody("defect"))).body;
    const first = await activate(admin, v1.id);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id: v1.id, isActive: true });
    expect(await roundTrips(first.requestId)).toMatchObject({ neon: 1 });
    expect(await auditOf(admin, v1.id)).toEqual([expect.objectContaining({ action: "deploy", actorId: admin.userId, actorType: "user", diff: expect.arrayContaining([{ op: "replace", path: "/is_active", value: true }]) })]);

    expect((await activate(admin, v2.id)).body).toMatchObject({ id: v2.id, isActive: true });
    expect((await call("GET", `/api/v1/factory/prompts/${v1.id}`, { token: admin.bearer })).body.isActive).toBe(false);
    expect((await auditOf(admin, v1.id)).map((a) => a.action)).toEqual(["deploy", "retire"]);
    const active = await call("GET", "/api/v1/factory/prompts?active=true", { token: admin.bearer });
    expect(active.body.items.map((p: { id: string }) => p.id)).toEqual([v2.id]);

    expectProblem(await activate(admin, v2.id), 409, "already_active");
    expect(await auditOf(admin, v2.id)).toHaveLength(1);
    expectProblem(await activate(admin, crypto.randomUUID()), 404, "not_found");
    const approver = await seedUser(admin.tenantId, "approver");
    const refused = await activate(approver, v1.id);
    expectProblem(refused, 403, "permission_missing");
    expect(refused.body.permission).toBe("prompt:deploy");
    const stranger = await seedTenant();
    expectProblem(await activate(stranger.admin, v1.id), 404, "not_found");
  });

  it("assigns A/B groups deterministically: each input's judgment uses the version its hash picks", async () => {
    const { admin } = await seedTenant();
    const a = (await create(admin, promptBody("ab", { aBTestGroup: "variant_a" }))).body;
    const b = (await create(admin, promptBody("ab", { aBTestGroup: "variant_b", modelConfig: { model: "gpt-4o-mini", ab_weight: 1 } }))).body;
    expect((await activate(admin, a.id)).status).toBe(200);
    expect((await activate(admin, b.id)).status).toBe(200);
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const input = defectInput(0.07, { line_code: `L-${crypto.randomUUID()}` });
      const res = await execute(admin, { inputData: input, method: "llm_only", promptVariables: { llm_test: llmScenario("gpt-4o=good gpt-4o-mini=good") } });
      expectCreated(res);
      const expected = await assignAbGroup({ tenantId: admin.tenantId, templateName: "ab", subjectKey: await inputHash(input) }, [
        { group: "variant_a", weight: 1, id: a.id },
        { group: "variant_b", weight: 1, id: b.id },
      ]);
      expect(res.body.llmMetadata).toMatchObject({ ab_group: expected!.group, prompt_template_id: expected!.id, model: expected!.group === "variant_a" ? "gpt-4o" : "gpt-4o-mini" });
      seen.add(res.body.llmMetadata.ab_group);
    }
    expect(seen.size).toBeGreaterThan(0);
  });

  it("renders a preview in the requested locale, else the tenant's, else ko-KR; a missing required variable is a 422 naming it", async () => {
    const { admin } = await seedTenant({ settings: { locale: "ja-JP" } });
    const viewer = await seedUser(admin.tenantId, "viewer", { permissions: ["prompt:read"] });
    const v = (await create(admin, promptBody("defect"))).body;
    const path = `/api/v1/factory/prompts/${v.id}/render`;
    const variables = { input_data: { line_code: "L01", metrics: { defect_rate: 0.073 } }, llm_test: "" };
    const res = await call("POST", path, { token: viewer.bearer, body: { variables, locale: "en-US" } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ templateId: v.id, locale: "ko-KR", localesTried: ["en-US", "ja-JP", "ko-KR"], system: "You judge production lines in a professional tone.", user: "Line L01, defect rate 0.073. " });
    expect(await roundTrips(res.requestId)).toMatchObject({ neon: 1 });
    const missing = await call("POST", path, { token: viewer.bearer, body: { variables: { input_data: { line_code: "L01" }, llm_test: "" } } });
    expectProblem(missing, 422, "validation_failed");
    expect(missing.body.errors).toEqual([{ path: "json.variables.input_data.metrics.defect_rate", message: "missing variable input_data.metrics.defect_rate" }]);
    const required = await call("POST", path, { token: viewer.bearer, body: { variables: { input_data: {} } } });
    expect(required.body.errors).toEqual([{ path: "json.variables.llm_test", message: "missing required variable llm_test" }]);
    expectProblem(await call("POST", `/api/v1/factory/prompts/${crypto.randomUUID()}/render`, { token: viewer.bearer, body: {} }), 404, "not_found");
    const operator = await seedUser(admin.tenantId, "operator");
    expectProblem(await call("POST", path, { token: operator.bearer, body: { variables } }), 403, "permission_missing");
  });
});
