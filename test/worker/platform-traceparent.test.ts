import { describe, expect, it } from "vitest";
import { newTraceId, traceIdFor, traceIdOf } from "../../src/platform/traceparent";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

describe("W3C traceparent", () => {
  it("reads the trace id of the specification's example", () => {
    expect(traceIdOf(`00-${TRACE}-00f067aa0ba902b7-01`)).toBe(TRACE);
    expect(traceIdOf(` 00-${TRACE}-00f067aa0ba902b7-00 `)).toBe(TRACE);
  });

  it("accepts a future version with extra fields, not version 00 with them", () => {
    expect(traceIdOf(`01-${TRACE}-00f067aa0ba902b7-01-extra`)).toBe(TRACE);
    expect(traceIdOf(`00-${TRACE}-00f067aa0ba902b7-01-extra`)).toBeNull();
  });

  it("refuses version ff, all-zero ids, upper case and wrong lengths", () => {
    expect(traceIdOf(`ff-${TRACE}-00f067aa0ba902b7-01`)).toBeNull();
    expect(traceIdOf(`00-${"0".repeat(32)}-00f067aa0ba902b7-01`)).toBeNull();
    expect(traceIdOf(`00-${TRACE}-${"0".repeat(16)}-01`)).toBeNull();
    expect(traceIdOf(`00-${TRACE.toUpperCase()}-00f067aa0ba902b7-01`)).toBeNull();
    expect(traceIdOf(`00-${TRACE}0-00f067aa0ba902b7-01`)).toBeNull();
    expect(traceIdOf(undefined)).toBeNull();
    expect(traceIdOf("")).toBeNull();
  });

  it("mints a random 32-hex-digit id when the caller sent none or a bad one", () => {
    const a = traceIdFor(undefined);
    const b = traceIdFor("garbage");
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(b).toMatch(/^[0-9a-f]{32}$/);
    expect(a).not.toBe(b);
    expect(newTraceId()).not.toBe(newTraceId());
    expect(traceIdFor(`00-${TRACE}-00f067aa0ba902b7-01`)).toBe(TRACE);
  });
});
