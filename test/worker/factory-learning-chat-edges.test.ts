import { describe, expect, it } from "vitest";
import { seedTenant } from "./factory-helpers";
import { importCsv, LEARNING, trainingCallback } from "./factory-learning-helpers";
import { openSession, say } from "./factory-chat-helpers";
import { call, expectProblem, roundTrips } from "./helpers";

/** Odd input a careless client sends: each refused naming what is wrong (or taken as meant), never a bare database error. */
describe("factory learning and chat: odd input", () => {
  it("a dataset size beyond a Postgres integer is refused naming json.datasetSize, on create and on the callback, and nothing moves", async () => {
    const { admin } = await seedTenant();
    const tooBig = 2 ** 31;
    const created = await call("POST", `${LEARNING}/training-jobs`, { token: admin.bearer, body: { jobType: "llm_finetuning", trainingConfig: {}, datasetSize: tooBig } });
    expectProblem(created, 422, "validation_failed");
    expect(created.body.errors.map((e: { path: string }) => e.path)).toEqual(["json.datasetSize"]);
    const listed = await call("GET", `${LEARNING}/training-jobs`, { token: admin.bearer });
    expect(listed.body.items).toEqual([]);

    const job = await call("POST", `${LEARNING}/training-jobs`, { token: admin.bearer, body: { jobType: "llm_finetuning", trainingConfig: {}, datasetSize: 2_147_483_647 } });
    expect(job.status, JSON.stringify(job.body)).toBe(201);
    const moved = await trainingCallback({ jobId: job.body.id, status: "running", datasetSize: tooBig });
    expectProblem(moved, 422, "validation_failed");
    expect(moved.body.errors.map((e: { path: string }) => e.path)).toEqual(["json.datasetSize"]);
    const after = await call("GET", `${LEARNING}/training-jobs/${job.body.id}`, { token: admin.bearer });
    expect(after.body).toMatchObject({ status: "pending", datasetSize: 2_147_483_647, startedAt: null });
  });

  it("a CSV field Postgres cannot store (NUL) or a number beyond a double is that line's error, not the whole import's", async () => {
    const { admin } = await seedTenant();
    const csv = "metrics.defect_rate,explanation,result\n0.08,ok,critical\n0.01,bad\u0000text,normal\n1e999,,normal\n0.02,,normal\n";
    const rejected = await importCsv(admin, csv);
    expectProblem(rejected, 422, "import_invalid");
    expect(rejected.body.lineErrors.map((e: { line: number; pointer: string }) => [e.line, e.pointer])).toEqual([
      [3, "/1"],
      [4, "/0"],
    ]);
    expect((await call("GET", `${LEARNING}/samples`, { token: admin.bearer })).body.items).toEqual([]);

    const skipped = await importCsv(admin, csv, "skip");
    expect(skipped.status, JSON.stringify(skipped.body)).toBe(201);
    expect((await roundTrips(skipped.requestId)).neon).toBe(1);
    expect(skipped.body).toMatchObject({ imported: 2, failed: 2 });
    const stored = await call("GET", `${LEARNING}/samples?source=import`, { token: admin.bearer });
    expect(stored.body.items.map((s: { inputFeatures: { metrics: { defect_rate: number } } }) => s.inputFeatures.metrics.defect_rate).sort()).toEqual([0.02, 0.08]);
  });

  it("a CSV feature column named __proto__ is stored as a feature, not silently dropped", async () => {
    const { admin } = await seedTenant();
    const res = await importCsv(admin, "__proto__,context.__proto__,result\n1,2,normal\n");
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const stored = await call("GET", `${LEARNING}/samples?source=import`, { token: admin.bearer });
    const features = stored.body.items[0].inputFeatures;
    expect(Object.hasOwn(features, "__proto__") && features["__proto__"]).toBe(1);
    expect(Object.hasOwn(features.context, "__proto__") && features.context["__proto__"]).toBe(2);
  });

  it("a chat message naming an impossible date (2024-02-31) or a range said backwards is answered, the date taken as meant", async () => {
    const { admin } = await seedTenant();
    const id = await openSession(admin);
    const typo = await say(admin, id, "L01 defect rate from 2024-02-31 to 2024-03-05", { llm: false });
    expect(typo.status, JSON.stringify(typo.body)).toBe(201);
    expect((await roundTrips(typo.requestId)).neon).toBe(1);
    expect(typo.body.intent.extractedSlots).toMatchObject({ line_code: "L01", date_range: { start: "2024-03-05", end: "2024-03-05" } });
    const backwards = await say(admin, id, "L01 불량률 2024-03-10 부터 2024-03-01 까지", { llm: false });
    expect(backwards.status, JSON.stringify(backwards.body)).toBe(201);
    expect(backwards.body.intent.extractedSlots).toMatchObject({ date_range: { start: "2024-03-01", end: "2024-03-10" } });
    const yearZero = await say(admin, id, "L01 defect rate on 0000-01-01", { llm: false });
    expect(yearZero.status, JSON.stringify(yearZero.body)).toBe(201);
  });
});
