import { describe, expect, it } from "vitest";
import { signStandardWebhook as signWebhook } from "../../src/platform/standard-webhooks";
import { verifyWebhook } from "../../src/platform/webhook-signature";
import { seedTenant, seedUser } from "./factory-helpers";
import { finished, LEARNING, trainingCallback } from "./factory-learning-helpers";
import { auditRows, expectOneRoundTrip } from "./factory-rules-helpers";
import { call, expectProblem, roundTrips, testEnv } from "./helpers";
import { DEFECT_RATE_SCRIPT, seedRuleset } from "./factory-judgments-helpers";

const job = (token: string, body: Record<string, unknown>) => call("POST", `${LEARNING}/training-jobs`, { token, body });

describe("factory training jobs", () => {
  it("an external job (llm_finetuning) is moved by the signed callback: running, then completed with metrics and artifact", async () => {
    const { tenantId, admin } = await seedTenant();
    const viewer = await seedUser(tenantId, "viewer");
    const created = await job(admin.bearer, { jobType: "llm_finetuning", trainingConfig: { base_model: "gpt-4o-mini", epochs: 3 }, datasetSize: 1200 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await expectOneRoundTrip(created.requestId);
    expect(created.body).toMatchObject({ jobType: "llm_finetuning", status: "pending", datasetSize: 1200, triggeredBy: admin.userId, startedAt: null });
    expectProblem(await job(viewer.bearer, { jobType: "embedding_update", trainingConfig: {} }), 403, "permission_missing");
    const id = created.body.id;

    const running = await trainingCallback({ jobId: id, status: "running", metrics: { progress: 0.1 } });
    expect(running.status, JSON.stringify(running.body)).toBe(200);
    expect(await roundTrips(running.requestId)).toMatchObject({ neon: 1 });
    expect(running.body).toMatchObject({ status: "running", metrics: { progress: 0.1 }, endedAt: null });
    expect(running.body.startedAt).toBeTruthy();

    const done = await trainingCallback({ jobId: id, status: "completed", metrics: { progress: 1, eval_loss: 0.21 }, modelArtifactUrl: "s3://models/ft-123" });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: "completed", metrics: { progress: 1, eval_loss: 0.21 }, modelArtifactUrl: "s3://models/ft-123", durationSeconds: expect.any(Number) });
    expect(done.body.endedAt).toBeTruthy();
    const seen = await call("GET", `${LEARNING}/training-jobs/${id}`, { token: admin.bearer });
    expect(seen.body.status).toBe("completed");
    await expectOneRoundTrip(seen.requestId);
    expectProblem(await trainingCallback({ jobId: id, status: "running" }), 409, "invalid_state");
    const audit = await auditRows(admin, id);
    expect(audit.map((a) => [a.action, a.actorType])).toEqual([["create", "user"], ["update", "webhook"], ["update", "webhook"]]);
    expect(audit[2]!.afterState).toMatchObject({ status: "completed" });

    const listed = await call("GET", `${LEARNING}/training-jobs?jobType=llm_finetuning&status=completed`, { token: admin.bearer });
    expect(listed.body.items.map((j: { id: string }) => j.id)).toEqual([id]);
  });

  it("the callback authenticates by signature alone: missing, wrong, stale and replayed calls are refused before anything is read", async () => {
    const { admin } = await seedTenant();
    const id = (await job(admin.bearer, { jobType: "embedding_update", trainingConfig: { model: "text-embedding-3-small" } })).body.id;
    const body = { jobId: id, status: "running" };

    const unsigned = await trainingCallback(body, { omit: ["webhook-signature"] });
    expectProblem(unsigned, 401, "webhook_signature_missing");
    expect(await roundTrips(unsigned.requestId)).toMatchObject({ neon: 0 });
    // A bearer token is no substitute for the signature.
    const withToken = await call("POST", `${LEARNING}/training-jobs/callback`, { token: admin.bearer, body });
    expectProblem(withToken, 401, "webhook_signature_missing");

    const otherSecret = `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
    expectProblem(await trainingCallback(body, { secret: otherSecret }), 401, "webhook_signature_invalid");
    const tampered = await trainingCallback(body, { signature: await signWebhook(testEnv.FACTORY_TRAINING_WEBHOOK_SECRET!, "msg_1", Math.floor(Date.now() / 1000), JSON.stringify({ ...body, status: "completed" })), id: "msg_1" });
    expectProblem(tampered, 401, "webhook_signature_invalid");
    const stale = await trainingCallback(body, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    expectProblem(stale, 401, "webhook_timestamp_out_of_tolerance");
    expectProblem(await trainingCallback(body, { timestamp: Math.floor(Date.now() / 1000) + 301 }), 401, "webhook_timestamp_out_of_tolerance");
    const once = `msg_${crypto.randomUUID()}`;
    const good = await trainingCallback(body, { id: once });
    expect(good.status, JSON.stringify(good.body)).toBe(200);
    const replay = await trainingCallback(body, { id: once });
    expectProblem(replay, 401, "webhook_replayed");
    expect(await roundTrips(replay.requestId)).toMatchObject({ neon: 0 });

    expectProblem(await trainingCallback({ jobId: crypto.randomUUID(), status: "running" }), 404, "not_found");
    const invalid = await trainingCallback({ jobId: id, status: "cancelled" });
    expect(invalid.status).toBe(422);
  });

  it("another tenant sees and changes none of it", async () => {
    const { admin } = await seedTenant();
    const { admin: stranger } = await seedTenant();
    const id = (await job(admin.bearer, { jobType: "llm_finetuning", trainingConfig: {} })).body.id;
    const sample = await call("POST", `${LEARNING}/samples`, { token: admin.bearer, body: { inputFeatures: { metrics: { defect_rate: 0.1 } }, label: { result: "critical" } } });
    expectProblem(await call("GET", `${LEARNING}/training-jobs/${id}`, { token: stranger.bearer }), 404, "not_found");
    expectProblem(await call("POST", `${LEARNING}/training-jobs/${id}/cancel`, { token: stranger.bearer }), 404, "not_found");
    expectProblem(await call("POST", `${LEARNING}/samples/${sample.body.id}/validate`, { token: stranger.bearer }), 404, "not_found");
    expectProblem(await call("POST", `${LEARNING}/auto-rules/${crypto.randomUUID()}/approve`, { token: stranger.bearer }), 404, "not_found");
    expect((await call("GET", `${LEARNING}/samples`, { token: stranger.bearer })).body.items).toEqual([]);
    expect((await call("GET", `${LEARNING}/training-jobs`, { token: stranger.bearer })).body.items).toEqual([]);
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    expectProblem(await call("POST", `${LEARNING}/auto-rules`, { token: stranger.bearer, body: { rulesetId, method: "pattern_mining" } }), 404, "not_found");
  });

  it("verifyWebhook accepts any of several v1 signatures", async () => {
    const secret = testEnv.FACTORY_TRAINING_WEBHOOK_SECRET!;
    const now = Math.floor(Date.now() / 1000);
    const right = await signWebhook(secret, "msg_multi", now, "{}");
    const redis = { set: async () => "OK" } as never;
    await expect(verifyWebhook(secret, { id: "msg_multi", timestamp: String(now), signature: `v1,${btoa("x".repeat(32))} ${right}` }, "{}", redis, "t")).resolves.toBe("msg_multi");
    await expect(verifyWebhook(secret, { id: "msg_multi", timestamp: String(now), signature: `v2,${right.slice(3)}` }, "{}", redis, "t")).rejects.toMatchObject({ code: "webhook_signature_invalid" });
  });

  it("cancelling: a pending or running job only; a cancelled external job refuses further callbacks; a rule_learning job is not the external system's", async () => {
    const { tenantId, admin } = await seedTenant();
    const operator = await seedUser(tenantId, "operator");
    const id = (await job(admin.bearer, { jobType: "llm_finetuning", trainingConfig: {} })).body.id;
    expectProblem(await call("POST", `${LEARNING}/training-jobs/${id}/cancel`, { token: operator.bearer }), 403, "permission_missing");
    const cancelled = await call("POST", `${LEARNING}/training-jobs/${id}/cancel`, { token: admin.bearer });
    expect(cancelled.status).toBe(200);
    await expectOneRoundTrip(cancelled.requestId);
    expect(cancelled.body).toMatchObject({ status: "cancelled", durationSeconds: null });
    expectProblem(await call("POST", `${LEARNING}/training-jobs/${id}/cancel`, { token: admin.bearer }), 409, "invalid_state");
    expectProblem(await trainingCallback({ jobId: id, status: "completed" }), 409, "invalid_state");
    expectProblem(await call("POST", `${LEARNING}/training-jobs/${crypto.randomUUID()}/cancel`, { token: admin.bearer }), 404, "not_found");

    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const bad = await job(admin.bearer, { jobType: "rule_learning", trainingConfig: { ruleset_id: rulesetId, method: "guessing" } });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body)).toContain("json.trainingConfig.method");
    const learning = await job(admin.bearer, { jobType: "rule_learning", trainingConfig: { ruleset_id: rulesetId, method: "pattern_mining" } });
    expect(learning.status).toBe(201);
    expectProblem(await trainingCallback({ jobId: learning.body.id, status: "completed" }), 409, "job_not_external");
    // Cancelled before or while the consumer runs: it ends cancelled, with no candidate.
    await call("POST", `${LEARNING}/training-jobs/${learning.body.id}/cancel`, { token: admin.bearer });
    const end = await finished(admin, learning.body.id);
    expect(end.status).toBe("cancelled");
    expect((await call("GET", `${LEARNING}/auto-rules?rulesetId=${rulesetId}`, { token: admin.bearer })).body.items).toEqual([]);
  });
});
