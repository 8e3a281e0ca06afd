import { describe, expect, it } from "vitest";
import { newWebhookSecret } from "../../src/platform/standard-webhooks";
import { seedTenant } from "./factory-helpers";
import { ended } from "./factory-workflow-helpers";
import { countDsl, deactivateWorkflow, defineWorkflow, instancesOf, sendHook, uniqueName, WORKFLOWS } from "./factory-workflow-trigger-helpers";
import { call, expectProblem, roundTrips } from "./helpers";

/** POST /hooks/workflows/{id}: Standard Webhooks under the workflow's whsec_ secret, no bearer token (src/factory/workflow-hooks.routes.ts). */

const lineInput = { line_code: { type: "string", required: true }, shift: { type: "string", enum: ["day", "night"], default: "day" } };

async function webhookWorkflow(opts: { enabled?: boolean; activate?: boolean } = {}) {
  const { tenantId, admin } = await seedTenant();
  const wf = await defineWorkflow(admin, countDsl(uniqueName("hook"), lineInput), { type: "webhook", ...(opts.enabled === undefined ? {} : { enabled: opts.enabled }) }, { activate: opts.activate ?? true });
  expect(wf.webhookSecret).toMatch(/^whsec_/);
  return { tenantId, admin, wf, secret: wf.webhookSecret as string };
}

describe("workflow webhook triggers", () => {
  it("a signed call starts an instance with the body as input (202, two round trips), run as the workflow's creator", async () => {
    const { admin, wf, secret } = await webhookWorkflow();
    const res = await sendHook(wf.id, secret, { line_code: "L07", rows: [{ a: 1 }, { a: 2 }] }, { id: "msg_valid_1" });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toEqual({ instanceId: expect.any(String), workflowId: wf.id, status: "PENDING" });
    // The workflow and its secret, then the instance with the delivery.
    expect((await roundTrips(res.requestId)).neon).toBe(2);
    const done = await ended(admin, res.body.instanceId);
    expect(done).toMatchObject({ status: "COMPLETED", triggerType: "webhook", triggeredBy: null, inputContext: { line_code: "L07", shift: "day", rows: [{ a: 1 }, { a: 2 }] } });
    expect(done.metadata.trigger).toEqual({ webhook_id: "msg_valid_1" });
    expect(done.runtimeContext.variables.nodes.count.result).toEqual({ n: 2 });
    await deactivateWorkflow(admin, wf.id);
  });

  it("refuses a bad signature, a stale or future timestamp and missing headers with 401 problems; unsigned and stale calls before Postgres", async () => {
    const { admin, wf, secret } = await webhookWorkflow();
    const body = { line_code: "L01" };
    const forged = await sendHook(wf.id, newWebhookSecret(), body);
    expectProblem(forged, 401, "webhook_signature_invalid");
    expect(forged.headers.get("WWW-Authenticate")).toMatch(/^Signature realm="webhooks"/);
    const tampered = await sendHook(wf.id, secret, body, { signature: "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" });
    expectProblem(tampered, 401, "webhook_signature_invalid");
    for (const skew of [-305_000, 330_000]) {
      const stale = await sendHook(wf.id, secret, body, { at: new Date(Date.now() + skew) });
      expectProblem(stale, 401, "webhook_timestamp_out_of_tolerance");
      expect((await roundTrips(stale.requestId)).neon).toBe(0);
    }
    const unsigned = await call("POST", `/api/v1/factory/hooks/workflows/${wf.id}`, { body });
    expectProblem(unsigned, 401, "webhook_signature_missing");
    expect((await roundTrips(unsigned.requestId)).neon).toBe(0);
    // A bearer token is no way in either.
    const bearer = await call("POST", `/api/v1/factory/hooks/workflows/${wf.id}`, { token: admin.bearer, body });
    expectProblem(bearer, 401, "webhook_signature_missing");
    const malformedId = await sendHook(wf.id, secret, body, { id: "no spaces allowed" });
    expectProblem(malformedId, 401, "webhook_signature_invalid");
    for (const res of [forged, tampered, unsigned]) expect(JSON.stringify(res.body)).not.toContain(secret.slice(6));
    expect(await instancesOf(admin, wf.id)).toHaveLength(0);
    await deactivateWorkflow(admin, wf.id);
  });

  it("a replayed webhook-id is refused with 409 naming the instance it started; another id starts another", async () => {
    const { admin, wf, secret } = await webhookWorkflow();
    const first = await sendHook(wf.id, secret, { line_code: "L01" }, { id: "msg_replay" });
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    const [again, concurrent] = await Promise.all([
      sendHook(wf.id, secret, { line_code: "L01" }, { id: "msg_replay" }),
      sendHook(wf.id, secret, { line_code: "L02" }, { id: "msg_replay" }),
    ]);
    for (const res of [again, concurrent]) {
      expectProblem(res, 409, "webhook_replayed");
      expect(res.body.instanceId).toBe(first.body.instanceId);
    }
    const other = await sendHook(wf.id, secret, { line_code: "L01" }, { id: "msg_other" });
    expect(other.status).toBe(202);
    expect((await instancesOf(admin, wf.id)).map((i) => i.id).sort()).toEqual([first.body.instanceId, other.body.instanceId].sort());
    await deactivateWorkflow(admin, wf.id);
  });

  it("a body that does not fit variables.input is a 422 with a JSON pointer, and records nothing: the same id with a valid body is accepted", async () => {
    const { admin, wf, secret } = await webhookWorkflow();
    const missing = await sendHook(wf.id, secret, { shift: "day" }, { id: "msg_fix_me" });
    expectProblem(missing, 422, "validation_failed");
    expect(missing.body.errors).toEqual([{ path: "json.line_code", pointer: "/line_code", message: "is required" }]);
    const wrongEnum = await sendHook(wf.id, secret, { line_code: "L01", shift: "dusk" }, { id: "msg_fix_me" });
    expectProblem(wrongEnum, 422, "validation_failed");
    expect(wrongEnum.body.errors[0]).toMatchObject({ path: "json.shift", pointer: "/shift" });
    const undeclared = await sendHook(wf.id, secret, { line_code: "L01", extra: 1 }, { id: "msg_fix_me" });
    expect(undeclared.body.errors[0]).toMatchObject({ pointer: "/extra", message: expect.stringMatching(/not a declared input/) });
    const notObject = await sendHook(wf.id, secret, ["L01"], { id: "msg_fix_me" });
    expect(notObject.status).toBe(422);
    expect(await instancesOf(admin, wf.id)).toHaveLength(0);
    const fixed = await sendHook(wf.id, secret, { line_code: "L01" }, { id: "msg_fix_me" });
    expect(fixed.status, JSON.stringify(fixed.body)).toBe(202);
    await deactivateWorkflow(admin, wf.id);
  });

  it("after a rotation the old secret is refused and the new one accepted", async () => {
    const { admin, wf, secret } = await webhookWorkflow();
    const rotated = await call("POST", `${WORKFLOWS}/${wf.id}/webhook-secret/rotate`, { token: admin.bearer });
    expect(rotated.status).toBe(200);
    const fresh: string = rotated.body.webhookSecret;
    expectProblem(await sendHook(wf.id, secret, { line_code: "L01" }), 401, "webhook_signature_invalid");
    expect((await sendHook(wf.id, fresh, { line_code: "L01" })).status).toBe(202);
    await deactivateWorkflow(admin, wf.id);
  });

  it("404 for an id that is no webhook-triggered workflow (unknown, or manual); 409 for an inactive version or a disabled trigger", async () => {
    const { admin, secret } = await webhookWorkflow();
    const signedAny = { line_code: "L01" };
    expectProblem(await sendHook(crypto.randomUUID(), secret, signedAny), 404, "not_found");
    expectProblem(await sendHook("not-a-uuid", secret, signedAny), 404, "not_found");
    const manual = await defineWorkflow(admin, countDsl(uniqueName("manual"), lineInput), null);
    expectProblem(await sendHook(manual.id, secret, signedAny), 404, "not_found");

    const idle = await webhookWorkflow({ activate: false });
    expectProblem(await sendHook(idle.wf.id, idle.secret, signedAny), 409, "workflow_inactive");
    const off = await webhookWorkflow({ enabled: false });
    expectProblem(await sendHook(off.wf.id, off.secret, signedAny), 409, "trigger_disabled");
    // The state is told only to a correctly signed call.
    expectProblem(await sendHook(idle.wf.id, secret, signedAny), 401, "webhook_signature_invalid");
    for (const w of [idle, off]) expect(await instancesOf(w.admin, w.wf.id)).toHaveLength(0);
    await deactivateWorkflow(admin, manual.id);
    await deactivateWorkflow(off.admin, off.wf.id);
  });

  it("is rate-limited like any anonymous call: per client address", async () => {
    const { admin, wf, secret } = await webhookWorkflow();
    const ip = `203.0.113.${Math.floor(Math.random() * 250) + 1}`;
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await sendHook(wf.id, secret, { line_code: "L01" }, { headers: { "CF-Connecting-IP": ip }, env: { RATE_LIMIT_MAX: "2" } })).status);
    expect(statuses).toEqual([202, 202, 429]);
    await deactivateWorkflow(admin, wf.id);
  });
});
