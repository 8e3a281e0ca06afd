import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createWorker } from "../../functions/create-worker";
import { createRouter } from "../../src/platform/router";
import { defineSystem, type ScheduledJob } from "../../src/platform/system";
import { testEnv } from "./helpers";

const TYPE = "TEST_EVENT";
const CRON = "*/5 * * * *";

/** A system of the test's own, registered like the real ones. */
const probe = (parts: { consumers?: Record<string, ((e: { eventId: string }) => Promise<void>)[]>; jobs?: ScheduledJob[]; name?: string }) =>
  defineSystem({
    name: parts.name ?? "probe",
    title: "Test probe",
    docs: [],
    load: async () => ({ router: createRouter(), consumers: parts.consumers, jobs: parts.jobs ? ({ [CRON]: parts.jobs } as never) : undefined }),
  });

afterEach(() => vi.restoreAllMocks());

describe("queue entry point", () => {
  it("acks handled and malformed messages one by one and retries a failing one with backoff", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const seen: string[] = [];
    const worker = createWorker([
      probe({
        consumers: {
          [TYPE]: [
            async (event) => {
              if (event.eventId === "evt_fail") throw new Error("consumer down");
              seen.push(event.eventId);
            },
          ],
        },
      }),
    ]);
    const batch = createMessageBatch<unknown>("edge-api-events", [
      { id: "m1", timestamp: new Date(), attempts: 1, body: { system: "probe", eventId: "evt_ok", eventType: TYPE } },
      { id: "m2", timestamp: new Date(), attempts: 3, body: { system: "probe", eventId: "evt_fail", eventType: TYPE } },
      { id: "m3", timestamp: new Date(), attempts: 1, body: "not an envelope" },
      { id: "m4", timestamp: new Date(), attempts: 1, body: { system: "other", eventId: "evt_other", eventType: TYPE } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, testEnv as never);
    const result = await getQueueResult(batch, ctx);

    expect(seen).toEqual(["evt_ok"]);
    expect(result.ackAll).toBe(false);
    expect(result.explicitAcks.sort()).toEqual(["m1", "m3", "m4"]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["m2"]);
    // The test harness does not record the delay, the retry log line does: 5 s × 2^attempts.
    expect(JSON.parse(String(warn.mock.calls[0]?.[0]))).toMatchObject({ eventId: "evt_fail", attempts: 3, delaySeconds: 40 });
  });

  it("hands events only to the systems ENABLED_SYSTEMS names", async () => {
    const seen: string[] = [];
    const consumer = (name: string) => ({ [TYPE]: [async (e: { eventId: string }) => void seen.push(`${name}:${e.eventId}`)] });
    const worker = createWorker([probe({ name: "one", consumers: consumer("one") }), probe({ name: "two", consumers: consumer("two") })]);
    const batch = createMessageBatch<unknown>("edge-api-events", [
      { id: "m1", timestamp: new Date(), attempts: 1, body: { system: "one", eventId: "e1", eventType: TYPE } },
      { id: "m2", timestamp: new Date(), attempts: 1, body: { system: "two", eventId: "e2", eventType: TYPE } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, { ...testEnv, ENABLED_SYSTEMS: "two" } as never);
    expect((await getQueueResult(batch, ctx)).explicitAcks.sort()).toEqual(["m1", "m2"]);
    expect(seen).toEqual(["two:e2"]);
  });
});

describe("scheduled entry point", () => {
  it("runs the jobs registered for the cron that fired and logs their report", async () => {
    const info = vi.spyOn(console, "log").mockImplementation(() => {});
    const ran: number[] = [];
    const worker = createWorker([
      probe({
        jobs: [
          async function countThings(_env, scheduledTime) {
            ran.push(scheduledTime);
            return { things: 3 };
          },
        ],
      }),
    ]);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: CRON, scheduledTime: 1_800_000_000_000 }), testEnv as never, ctx);
    await waitOnExecutionContext(ctx);
    expect(ran).toEqual([1_800_000_000_000]);
    const report = info.mock.calls.map((args) => JSON.parse(String(args[0])));
    expect(report).toContainEqual(expect.objectContaining({ msg: "scheduled job done", job: "countThings", things: 3 }));
  });

  it("runs only the jobs of the systems ENABLED_SYSTEMS names", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const ran: string[] = [];
    const job = (name: string): ScheduledJob => async () => (ran.push(name), {});
    const worker = createWorker([probe({ name: "one", jobs: [job("one")] }), probe({ name: "two", jobs: [job("two")] })]);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: CRON, scheduledTime: Date.now() }), { ...testEnv, ENABLED_SYSTEMS: "one" } as never, ctx);
    await waitOnExecutionContext(ctx);
    expect(ran).toEqual(["one"]);
  });
});
