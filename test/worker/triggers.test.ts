import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { consumers } from "../../functions/queue";
import { jobs } from "../../functions/scheduled";
import worker from "../../functions/worker";
import { testEnv } from "./helpers";

const TYPE = "TEST_EVENT";

describe("queue entry point", () => {
  afterEach(() => {
    delete consumers[TYPE];
    vi.restoreAllMocks();
  });

  it("acks handled and malformed messages one by one and retries a failing one with backoff", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const seen: string[] = [];
    consumers[TYPE] = [
      async (event) => {
        if (event.eventId === "evt_fail") throw new Error("consumer down");
        seen.push(event.eventId);
      },
    ];
    const batch = createMessageBatch<unknown>("edge-api-events", [
      { id: "m1", timestamp: Date.now(), attempts: 1, body: { eventId: "evt_ok", eventType: TYPE } },
      { id: "m2", timestamp: Date.now(), attempts: 3, body: { eventId: "evt_fail", eventType: TYPE } },
      { id: "m3", timestamp: Date.now(), attempts: 1, body: "not an envelope" },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, testEnv as never);
    const result = await getQueueResult(batch, ctx);

    expect(seen).toEqual(["evt_ok"]);
    expect(result.ackAll).toBe(false);
    expect(result.explicitAcks.sort()).toEqual(["m1", "m3"]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["m2"]);
    // The test harness does not record the delay, the retry log line does: 5 s × 2^attempts.
    expect(JSON.parse(String(warn.mock.calls[0]?.[0]))).toMatchObject({ eventId: "evt_fail", attempts: 3, delaySeconds: 40 });
  });
});

describe("scheduled entry point", () => {
  afterEach(() => {
    delete jobs["*/5 * * * *"];
    vi.restoreAllMocks();
  });

  it("runs the jobs registered for the cron that fired and logs their report", async () => {
    const info = vi.spyOn(console, "log").mockImplementation(() => {});
    const ran: number[] = [];
    jobs["*/5 * * * *"] = [
      async function countThings(_env, scheduledTime) {
        ran.push(scheduledTime);
        return { things: 3 };
      },
    ];
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "*/5 * * * *", scheduledTime: 1_800_000_000_000 }), testEnv as never, ctx);
    const { waitOnExecutionContext } = await import("cloudflare:test");
    await waitOnExecutionContext(ctx);
    expect(ran).toEqual([1_800_000_000_000]);
    const report = info.mock.calls.map((args) => JSON.parse(String(args[0])));
    expect(report).toContainEqual(expect.objectContaining({ msg: "scheduled job done", job: "countThings", things: 3 }));
  });
});
