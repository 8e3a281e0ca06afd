import { describe, expect, it } from "vitest";
import { createdTenant } from "./factory-helpers";
import { actionUrl, ended, insertWorkflow, logsOf, receiverCalls, started, TICK_GLOBALS, tick, until } from "./factory-workflow-helpers";

/** One test per node type the engine owns (BI and ACTION: factory-workflow-engine.test.ts), the saga, retries. */
describe("workflow nodes", () => {
  it("SWITCH: a Rhai condition over input and node results chooses the branch; the other is SKIPPED", async () => {
    const { admin } = await createdTenant();
    const workflowId = await insertWorkflow(admin, {
      variables: { input: { rate: { type: "number", required: true } }, global: { threshold: { type: "number", default: 0.05 }, ...TICK_GLOBALS } },
      nodes: [
        { id: "check", type: "SWITCH", config: { cases: [{ when: "input.rate > globals.threshold && nodes.high == ()", next: "high" }], default: "low" } },
        { ...tick("high"), next: null },
        { ...tick("low"), next: null },
      ],
    });
    const hi = await ended(admin, await started(admin, workflowId, { rate: 0.2 }));
    expect(hi.status).toBe("COMPLETED");
    expect(hi.runtimeContext.execution_path).toEqual(["check", "high"]);
    expect(logsOf(hi, "check")[0].outputData).toEqual({ chosen: "high", case: 0 });
    expect(logsOf(hi, "low")[0].status).toBe("SKIPPED");
    const lo = await ended(admin, await started(admin, workflowId, { rate: 0.01 }));
    expect(lo.runtimeContext.execution_path).toEqual(["check", "low"]);
    expect(logsOf(lo, "check")[0].outputData).toEqual({ chosen: "low", case: -1 });
    expect(logsOf(lo, "high")[0].status).toBe("SKIPPED");
  });

  it("SWITCH: a condition that is no boolean fails the node with VALIDATION_ERROR, at once", async () => {
    const { admin } = await createdTenant();
    const workflowId = await insertWorkflow(admin, {
      variables: { global: TICK_GLOBALS },
      nodes: [{ id: "check", type: "SWITCH", config: { cases: [{ when: "1 + 1", next: "then" }] } }, tick("then")],
    });
    const done = await ended(admin, await started(admin, workflowId));
    expect(done).toMatchObject({ status: "FAILED", errorCode: "VALIDATION_ERROR" });
    expect(logsOf(done, "check")[0]).toMatchObject({ status: "FAILED", errorCode: "VALIDATION_ERROR", retryAttempt: 0 });
  });

  it("WAIT: a durable sleep between two nodes", async () => {
    const { admin } = await createdTenant();
    const workflowId = await insertWorkflow(admin, {
      variables: { global: TICK_GLOBALS },
      nodes: [tick("before"), { id: "pause_a_bit", type: "WAIT", config: { seconds: 2 } }, tick("after")],
    });
    const done = await ended(admin, await started(admin, workflowId));
    expect(done.status).toBe("COMPLETED");
    const before = logsOf(done, "before")[0];
    const after = logsOf(done, "after")[0];
    expect(Date.parse(after.startedAt) - Date.parse(before.endedAt)).toBeGreaterThanOrEqual(1900);
    expect(logsOf(done, "pause_a_bit")[0]).toMatchObject({ status: "COMPLETED", outputData: { seconds: 2 } });
  });

  it("WAIT until a time already past does not wait, and completes", async () => {
    const { admin } = await createdTenant();
    const until = "2020-01-01T00:00:00.000Z";
    const workflowId = await insertWorkflow(admin, { variables: { global: TICK_GLOBALS }, nodes: [{ id: "long_ago", type: "WAIT", config: { until } }, tick("after")] });
    const done = await ended(admin, await started(admin, workflowId));
    expect(done.status).toBe("COMPLETED");
    expect(logsOf(done, "long_ago")[0]).toMatchObject({ status: "COMPLETED", outputData: { until } });
  });

  it("PARALLEL: branches run at once and join with every branch's results", async () => {
    const { admin } = await createdTenant();
    const [k1, k2] = [crypto.randomUUID(), crypto.randomUUID()];
    const workflowId = await insertWorkflow(admin, {
      variables: { input: { rows: { type: "array", required: true } } },
      nodes: [
        { id: "fan", type: "PARALLEL", config: { branches: [{ name: "a", nodes: ["a_stats", "a_send"] }, { name: "b", nodes: ["b_send"] }] } },
        { id: "a_stats", type: "BI", config: { source: "$.input.rows", aggregates: [{ name: "total", op: "sum", field: "q" }] } },
        { id: "a_send", type: "ACTION", config: { url: actionUrl("ok", k1), body: "$.nodes.a_stats.result" } },
        { id: "b_send", type: "ACTION", config: { url: actionUrl("ok", k2), body: { hello: "b" } } },
        { id: "summary", type: "BI", config: { source: "$.input.rows", aggregates: [{ name: "n", op: "count" }] } },
      ],
    });
    const done = await ended(admin, await started(admin, workflowId, { rows: [{ q: 2 }, { q: 5 }] }));
    expect(done.status, JSON.stringify(done.logs)).toBe("COMPLETED");
    expect(logsOf(done, "fan")[0].outputData).toEqual({
      a: { a_stats: { total: 7 }, a_send: { status: 200, body: { received: true, attempt: 1 } } },
      b: { b_send: { status: 200, body: { received: true, attempt: 1 } } },
    });
    expect(done.runtimeContext.execution_path.at(-1)).toBe("summary");
    expect(done.runtimeContext.execution_path.slice(0, -2).sort()).toEqual(["a_send", "a_stats", "b_send"]);
    expect((await receiverCalls(k1))[0]!.body.data.body).toEqual({ total: 7 });
    expect(await receiverCalls(k2)).toHaveLength(1);
  });

  it("COMPENSATION: when a later node fails, the registered undos run in reverse order (saga), then the instance FAILS", async () => {
    const { admin } = await createdTenant();
    const key = crypto.randomUUID();
    const workflowId = await insertWorkflow(admin, {
      nodes: [
        { id: "reserve", type: "ACTION", config: { url: actionUrl("ok", key), body: { step: "reserve" } } },
        { id: "undo_reserve", type: "COMPENSATION", config: { target: "reserve", do: { type: "ACTION", config: { url: actionUrl("ok", key), body: { undo: "reserve" } } } } },
        { id: "charge", type: "ACTION", config: { url: actionUrl("ok", key), body: { step: "charge" } } },
        { id: "undo_charge", type: "COMPENSATION", config: { target: "charge", do: { type: "ACTION", config: { url: actionUrl("ok", key), body: { undo: "charge" } } } } },
        { id: "ship", type: "ACTION", config: { url: actionUrl("fail", key), body: { step: "ship" } } },
      ],
    });
    const done = await ended(admin, await started(admin, workflowId));
    expect(done).toMatchObject({ status: "FAILED", errorCode: "UPSTREAM_ERROR" });
    expect(done.lastError).toContain("answered 500");
    const bodies = (await receiverCalls(key)).map((c) => c.body.data.body);
    expect(bodies).toEqual([{ step: "reserve" }, { step: "charge" }, { step: "ship" }, { undo: "charge" }, { undo: "reserve" }]);
    expect(done.checkpointData.compensations.map((c: any) => c.target)).toEqual(["reserve", "charge"]);
    const undoCharge = logsOf(done, "undo_charge").find((l) => l.metadata.phase === "compensate");
    const undoReserve = logsOf(done, "undo_reserve").find((l) => l.metadata.phase === "compensate");
    expect(undoCharge).toMatchObject({ status: "COMPLETED", metadata: { target: "charge", type: "ACTION" } });
    expect(undoReserve).toMatchObject({ status: "COMPLETED" });
    expect(Date.parse(undoReserve.startedAt)).toBeGreaterThanOrEqual(Date.parse(undoCharge.endedAt));
    expect(logsOf(done, "ship")[0]).toMatchObject({ status: "FAILED", errorCode: "UPSTREAM_ERROR", retryAttempt: 0 });
  });

  it("retries with exponential backoff only the codes of retry_on_errors: an ACTION whose receiver succeeds on the 3rd attempt", async () => {
    const { admin } = await createdTenant();
    const key = crypto.randomUUID();
    const workflowId = await insertWorkflow(admin, {
      nodes: [
        {
          id: "flaky",
          type: "ACTION",
          config: { url: actionUrl("flaky", key, 2) },
          retry_policy: { max_attempts: 3, backoff_strategy: "exponential", initial_delay_ms: 1000, max_delay_ms: 30000, retry_on_errors: ["UPSTREAM_ERROR"] },
        },
      ],
    });
    const id = await started(admin, workflowId);
    const retrying = await until(admin, id, (b) => logsOf(b, "flaky")[0]?.status === "RETRYING");
    expect(logsOf(retrying, "flaky")[0]).toMatchObject({ errorCode: "UPSTREAM_ERROR", retryAttempt: 0 });
    const done = await ended(admin, id);
    expect(done.status).toBe("COMPLETED");
    expect(done.retryCount).toBe(2);
    expect(logsOf(done, "flaky")[0]).toMatchObject({ status: "COMPLETED", retryAttempt: 2, outputData: { status: 200, body: { attempt: 3 } } });
    const calls = await receiverCalls(key);
    expect(calls.map((c) => c.id)).toEqual([`msg_${id}_flaky`, `msg_${id}_flaky`, `msg_${id}_flaky`]);
    // 1 s, then 2 s: exponential.
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(900);
    expect(calls[2]!.at - calls[1]!.at).toBeGreaterThanOrEqual(1800);
  });

  it("an error outside retry_on_errors fails the node at once (no retry)", async () => {
    const { admin } = await createdTenant();
    const key = crypto.randomUUID();
    const workflowId = await insertWorkflow(admin, {
      nodes: [{ id: "limited", type: "ACTION", config: { url: actionUrl("limited", key) }, retry_policy: { max_attempts: 3, initial_delay_ms: 100, retry_on_errors: ["TIMEOUT"] } }],
    });
    const done = await ended(admin, await started(admin, workflowId));
    expect(done).toMatchObject({ status: "FAILED", errorCode: "RATE_LIMIT", retryCount: 0 });
    expect(await receiverCalls(key)).toHaveLength(1);
  });
});
