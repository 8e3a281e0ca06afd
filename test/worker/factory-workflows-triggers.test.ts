import { Cron } from "croner";
import { describe, expect, it } from "vitest";
import { CronError, parseCron, slotsBetween } from "../../src/factory/cron";
import { newWebhookSecret, signStandardWebhook, standardWebhookHeaders, verifyStandardWebhook } from "../../src/platform/standard-webhooks";
import { checkTriggerConfig, eventMatches } from "../../src/factory/workflow-trigger-config";

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const at = (text: string) => new Date(text);

describe("cron: parsing", () => {
  it("reads lists, ranges, steps, names, 7 as Sunday and the @ shorthands", () => {
    const s = parseCron("*/15 9-17/4 1,15 JAN-mar mon-fri");
    expect([...s.minutes]).toEqual([0, 15, 30, 45]);
    expect([...s.hours]).toEqual([9, 13, 17]);
    expect([...s.days]).toEqual([1, 15]);
    expect([...s.months]).toEqual([1, 2, 3]);
    expect([...s.weekdays]).toEqual([1, 2, 3, 4, 5]);
    expect([...parseCron("0 0 * * 7").weekdays]).toEqual([0]);
    expect([...parseCron("@daily").hours]).toEqual([0]);
    expect([...parseCron("5/20 * * * *").minutes]).toEqual([5, 25, 45]);
  });

  it.each([
    ["* * * *", /5 fields/],
    ["60 * * * *", /minute: 60 is outside 0-59/],
    ["* 24 * * *", /hour/],
    ["* * 0 * *", /day of month/],
    ["* * * 13 *", /month/],
    ["* * * * 8", /day of week/],
    ["*/0 * * * *", /step/],
    ["5-1 * * * *", /backwards/],
    ["a * * * *", /not a number/],
    ["1,,2 * * * *", /not a value/],
  ])("refuses %s", (expr, message) => {
    expect(() => parseCron(expr)).toThrow(CronError);
    expect(() => parseCron(expr)).toThrow(message);
  });
});

describe("cron: slotsBetween", () => {
  it("lists the slots of (from, to] in UTC, oldest first", () => {
    expect(iso(slotsBetween("*/15 * * * *", "UTC", at("2026-03-01T10:00:00Z"), at("2026-03-01T11:00:00Z")))).toEqual([
      "2026-03-01T10:15:00.000Z",
      "2026-03-01T10:30:00.000Z",
      "2026-03-01T10:45:00.000Z",
      "2026-03-01T11:00:00.000Z",
    ]);
    // A tick that runs late (from 09:58:30 to 10:03:10) still sees the 10:00 slot once.
    expect(iso(slotsBetween("0 * * * *", "UTC", at("2026-03-01T09:58:30Z"), at("2026-03-01T10:03:10Z")))).toEqual(["2026-03-01T10:00:00.000Z"]);
  });

  it("reads the expression in the trigger's time zone (Asia/Seoul, no DST)", () => {
    // §3.1's "0 */2 * * *" in Seoul: 00:00 KST is 15:00 UTC the day before.
    expect(iso(slotsBetween("0 */2 * * *", "Asia/Seoul", at("2026-06-01T14:30:00Z"), at("2026-06-01T17:30:00Z")))).toEqual(["2026-06-01T15:00:00.000Z", "2026-06-01T17:00:00.000Z"]);
  });

  it("DST forward (America/New_York, 2026-03-08): a skipped 02:30 fires once at 03:00 EDT; every-15-minutes skips the gap", () => {
    const day = slotsBetween("30 2 * * *", "America/New_York", at("2026-03-07T00:00:00Z"), at("2026-03-10T00:00:00Z"));
    expect(iso(day)).toEqual(["2026-03-07T07:30:00.000Z", "2026-03-08T07:00:00.000Z", "2026-03-09T06:30:00.000Z"]);
    const quarter = slotsBetween("*/15 * * * *", "America/New_York", at("2026-03-08T06:40:00Z"), at("2026-03-08T07:20:00Z"));
    // 01:45 EST, then the clock jumps from 02:00 to 03:00 EDT.
    expect(iso(quarter)).toEqual(["2026-03-08T06:45:00.000Z", "2026-03-08T07:00:00.000Z", "2026-03-08T07:15:00.000Z"]);
  });

  it("DST back (America/New_York, 2026-11-01): a repeated 01:30 fires once; an hourly-wildcard job fires in both passes", () => {
    const daily = slotsBetween("30 1 * * *", "America/New_York", at("2026-10-31T12:00:00Z"), at("2026-11-02T12:00:00Z"));
    expect(iso(daily)).toEqual(["2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"]);
    const hourly = slotsBetween("30 * * * *", "America/New_York", at("2026-11-01T04:00:00Z"), at("2026-11-01T07:00:00Z"));
    // 00:30 EDT, 01:30 EDT, 01:30 EST (the hour repeats).
    expect(iso(hourly)).toEqual(["2026-11-01T04:30:00.000Z", "2026-11-01T05:30:00.000Z", "2026-11-01T06:30:00.000Z"]);
  });

  it("DST in the southern hemisphere (Australia/Sydney, forward 2026-10-04)", () => {
    expect(iso(slotsBetween("15 2 * * *", "Australia/Sydney", at("2026-10-02T12:00:00Z"), at("2026-10-05T12:00:00Z")))).toEqual([
      "2026-10-02T16:15:00.000Z",
      // 02:15 does not exist on the 4th: fired at 03:00 AEDT (16:00 UTC).
      "2026-10-03T16:00:00.000Z",
      "2026-10-04T15:15:00.000Z",
    ]);
  });

  it("agrees with croner on a week of ordinary times (day-of-month OR day-of-week)", () => {
    const from = at("2026-05-01T00:00:00Z");
    const to = at("2026-05-08T00:00:00Z");
    for (const [expr, tz] of [["0 9 * * 1-5", "Europe/Berlin"], ["*/30 8-10 1,5 * 2", "Asia/Seoul"], ["45 23 * * *", "America/Los_Angeles"]] as const) {
      const expected: string[] = [];
      const job = new Cron(expr, { timezone: tz, domAndDow: false, paused: true });
      for (let next = job.nextRun(from); next && next <= to; next = job.nextRun(next)) expected.push(next.toISOString());
      expect(iso(slotsBetween(expr, tz, from, to)), `${expr} in ${tz}`).toEqual(expected);
    }
  });

  it("refuses a range over 7 days", () => {
    expect(() => slotsBetween("* * * * *", "UTC", at("2026-01-01T00:00:00Z"), at("2026-01-09T00:00:00Z"))).toThrow(RangeError);
  });
});

describe("Standard Webhooks", () => {
  // The specification's published test vector (standard-webhooks libraries' tests).
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
  const timestamp = 1614265330;
  const body = '{"test": 2432232314}';
  const signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
  const sent = new Date(timestamp * 1000);
  const headers = (sig = signature, ts = String(timestamp)) => ({ "webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig });

  it("signs the test vector as published and verifies it", async () => {
    expect(await signStandardWebhook(secret, id, timestamp, body)).toBe(signature);
    expect(await verifyStandardWebhook(secret, headers(), body, sent)).toEqual({ ok: true, id, timestamp });
    expect(await verifyStandardWebhook(secret, new Headers(headers()), body, new Date(sent.getTime() + 299_000))).toMatchObject({ ok: true });
  });

  it("accepts any listed v1 signature and ignores other versions", async () => {
    expect(await verifyStandardWebhook(secret, headers(`v1a,xyz v1,${"A".repeat(44)} ${signature}`), body, sent)).toMatchObject({ ok: true });
  });

  it.each([
    ["a changed body", headers(), body.replace("2432", "2433"), sent, "signature_invalid"],
    ["another secret's signature", headers("v1,h0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), body, sent, "signature_invalid"],
    ["a stale timestamp", headers(), body, new Date(sent.getTime() + 301_000), "timestamp_stale"],
    ["a timestamp from the future", headers(), body, new Date(sent.getTime() - 301_000), "timestamp_stale"],
    ["a timestamp that is no number", headers(signature, "16142653a0"), body, sent, "timestamp_invalid"],
    ["no signature header", { "webhook-id": id, "webhook-timestamp": String(timestamp) }, body, sent, "headers_missing"],
  ])("refuses %s", async (_what, h, b, now, reason) => {
    expect(await verifyStandardWebhook(secret, h as Record<string, string>, b, now)).toMatchObject({ ok: false, reason });
  });

  it("makes whsec_ secrets of 32 random bytes whose headers verify", async () => {
    const s = newWebhookSecret();
    expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(newWebhookSecret()).not.toBe(s);
    const now = new Date();
    const h = await standardWebhookHeaders(s, "msg_1", '{"a":1}', now);
    expect(await verifyStandardWebhook(s, h, '{"a":1}', now)).toMatchObject({ ok: true, id: "msg_1" });
  });
});

describe("trigger config", () => {
  it("normalises: manual when absent, enabled by default, a schedule's zone UTC by default", () => {
    expect(checkTriggerConfig(undefined)).toEqual({ ok: true, trigger: { type: "manual", enabled: true } });
    expect(checkTriggerConfig({ type: "schedule", cron: "0 */2 * * *" })).toEqual({ ok: true, trigger: { type: "schedule", cron: "0 */2 * * *", enabled: true, timezone: "UTC" } });
    expect(checkTriggerConfig({ type: "webhook", enabled: false })).toEqual({ ok: true, trigger: { type: "webhook", enabled: false } });
  });

  it.each([
    [{ type: "schedule" }, "/cron", /needs a cron/],
    [{ type: "schedule", cron: "0 25 * * *" }, "/cron", /hour/],
    [{ type: "schedule", cron: "0 * * * *", timezone: "Mars/Olympus" }, "/timezone", /IANA/],
    [{ type: "manual", cron: "0 * * * *" }, "/cron", /schedule/],
    [{ type: "event" }, "/event_filter", /event_filter/],
    [{ type: "webhook", event_filter: { event: "workflow.failed" } }, "/event_filter", /event trigger/],
  ] as const)("refuses %j at %s", (config, pointer, message) => {
    const result = checkTriggerConfig(config as never);
    expect(result.ok).toBe(false);
    const fault = result.ok ? undefined : result.faults.find((f) => f.pointer === pointer);
    expect(fault?.message).toMatch(message);
  });

  it("matches events by type and every where field (dotted, or one of a list)", () => {
    const event = { event: "judgment.critical", data: { result: "critical", line: { code: "L01" }, confidence: 0.9 } };
    expect(eventMatches({ event: "judgment.critical" }, event)).toBe(true);
    expect(eventMatches({ event: "judgment.completed" }, event)).toBe(false);
    expect(eventMatches({ event: "judgment.critical", where: { "line.code": "L01", result: ["warning", "critical"] } }, event)).toBe(true);
    expect(eventMatches({ event: "judgment.critical", where: { "line.code": "L02" } }, event)).toBe(false);
    expect(eventMatches({ event: "judgment.critical", where: { missing: null } }, event)).toBe(false);
    expect(eventMatches({ event: "judgment.critical", where: { confidence: 0.9 } }, event)).toBe(true);
    expect(eventMatches({ event: "judgment.critical", where: { "line.code.x": "L01" } }, event)).toBe(false);
  });
});
