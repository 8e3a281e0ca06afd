import { describe, expect, it } from "vitest";
import { createdTenant } from "./factory-helpers";
import { call, expectProblem, roundTrips } from "./helpers";
import { actionUrl, ended, insertWorkflow, logsOf, receiverCalls, started } from "./factory-workflow-helpers";

describe("workflow engine: BI and ACTION nodes as durable steps", () => {
  it("runs BI then a signed ACTION to COMPLETED, mirroring every step into Postgres", async () => {
    const { admin } = await createdTenant();
    const key = crypto.randomUUID();
    const workflowId = await insertWorkflow(admin, {
      variables: { input: { rows: { type: "array", required: true }, line: { type: "string", default: "L01" } } },
      nodes: [
        {
          id: "stats",
          type: "BI",
          config: { source: "$.input.rows", aggregates: [{ name: "n", op: "count" }, { name: "defects", op: "sum", field: "defects" }, { name: "p50", op: "p50", field: "defects" }] },
        },
        { id: "notify", type: "ACTION", config: { url: actionUrl("ok", key), body: { line: "$.input.line", stats: "$.nodes.stats.result" } } },
      ],
    });
    const id = await started(admin, workflowId, { rows: [{ defects: 1 }, { defects: 3 }, { defects: 8 }] });
    const done = await ended(admin, id);
    expect(done.status, JSON.stringify(done)).toBe("COMPLETED");
    expect(done.runtimeContext.execution_path).toEqual(["stats", "notify"]);
    expect(done.runtimeContext.variables.nodes.stats.result).toEqual({ n: 3, defects: 12, p50: 3 });
    expect(done.checkpointData.completed).toEqual(["stats", "notify"]);
    expect(done.endedAt).not.toBeNull();
    expect(done.durationMs).toBeGreaterThanOrEqual(0);
    expect(logsOf(done, "stats")[0]).toMatchObject({ status: "COMPLETED", retryAttempt: 0 });
    expect(logsOf(done, "notify")[0]).toMatchObject({ status: "COMPLETED", outputData: { status: 200, body: { received: true, attempt: 1 } } });
    const calls = await receiverCalls(key);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ verified: true, id: `msg_${id}_notify` });
    expect(calls[0]!.body.data.body).toEqual({ line: "L01", stats: { n: 3, defects: 12, p50: 3 } });
    // begin + one batch per node (log + mirror together).
    expect((await roundTrips(`wf-${id}`)).neon).toBe(3);
  });
});

describe("workflow engine: paths and what logs keep", () => {
  it("resolves $. paths (keys, [n] indexes, missing → null, $$. escapes) with whole-value substitution only", async () => {
    const { resolveMapping } = await import("../../src/factory/workflow-paths");
    const scope = { input: { line_code: "L01", rows: [{ qty: 4 }] }, global: { t: 0.05 }, nodes: { d: { result: { rows: [{ qty: 7 }] }, status: "completed" } } };
    expect(
      resolveMapping(
        { a: "$.input.line_code", b: "$.nodes.d.result.rows[0].qty", c: ["$.global.t", "$.input.nope", "$.input.rows[9].qty"], d: "$$.input.x", e: "line $.input.line_code", f: 3 },
        scope,
      ),
    ).toEqual({ a: "L01", b: 7, c: [0.05, null, null], d: "$.input.x", e: "line $.input.line_code", f: 3 });
  });

  it("refuses a credential header in an ACTION's definition, and never logs a secret-looking member of its resolved body", async () => {
    const { admin } = await createdTenant();
    const name = `wf_${crypto.randomUUID().slice(0, 8)}`;
    const refused = await call("POST", "/api/v1/factory/workflows", {
      token: admin.bearer,
      body: { name, dsl: { name, nodes: [{ id: "notify", type: "ACTION", config: { url: actionUrl("ok", "x"), headers: { Authorization: "Bearer tok-s3cret-value" } } }] } },
    });
    expectProblem(refused, 422, "validation_failed");
    expect(JSON.stringify(refused.body)).toContain("/dsl/nodes/0/config/headers/Authorization");
    expect(JSON.stringify(refused.body)).not.toContain("tok-s3cret-value");

    const key = crypto.randomUUID();
    const workflowId = await insertWorkflow(admin, {
      variables: { input: { key: { type: "string", required: true } } },
      nodes: [{ id: "notify", type: "ACTION", config: { url: actionUrl("ok", key), headers: { "X-Plant": "P1" }, body: { api_key: "$.input.key", line: "L01" } } }],
    });
    const done = await ended(admin, await started(admin, workflowId, { key: "tok-s3cret-value" }));
    expect(done.status).toBe("COMPLETED");
    expect(logsOf(done, "notify")[0].inputData).toMatchObject({ headers: { "X-Plant": "P1" }, body: { api_key: "[redacted]", line: "L01" } });
    // The input holds it (the caller's own data); the step's log row does not.
    expect(JSON.stringify(logsOf(done, "notify"))).not.toContain("tok-s3cret-value");
    expect((await receiverCalls(key))[0]!.verified).toBe(true);
  });
});
