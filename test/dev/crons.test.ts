import { beforeAll, describe, expect, it } from 'vitest';
import { jobsFor } from '../../functions/scheduled';
import { DAILY as daily, EVERY_MINUTE as everyMinute } from '../../src/platform/system';
import { SYSTEMS } from '../../src/systems';
import { cronsEnabled, dueRuns, nextSlot, readCrons, startCronRunner, type Clock, type DueRun } from '../../scripts/lib/crons';

// `npm run dev`'s cron runner on a clock the test moves by hand: no assertion waits on real time.

const at = (iso: string) => new Date(iso);

/** One timer at a time, like the runner's; fireNext() jumps to when it was due, plus `lateBy` ms. */
function manualClock(start: string) {
  let now = Date.parse(start);
  let timer: { fn: () => void; due: number } | null = null;
  const clock: Clock = {
    now: () => now,
    setTimeout(fn, ms) {
      timer = { fn, due: now + ms };
      return timer;
    },
    clearTimeout(handle) {
      if (handle === timer) timer = null;
    },
  };
  return {
    clock,
    delay: () => (timer ? timer.due - now : null),
    fireNext(lateBy = 0) {
      const t = timer!;
      timer = null;
      now = t.due + lateBy;
      t.fn();
    },
  };
}

const byCron = (fired: DueRun[]) => {
  const out: Record<string, string[]> = {};
  for (const run of fired) (out[run.cron] ??= []).push(run.scheduledTime.toISOString());
  return out;
};

let crons: string[];
beforeAll(async () => {
  crons = await readCrons();
});

describe("wrangler.toml's crons", () => {
  it('are the ones the platform and the systems have jobs for', async () => {
    expect([...crons].sort()).toEqual([everyMinute, daily].sort());
    for (const cron of crons) expect((await jobsFor(SYSTEMS, cron)).length).toBeGreaterThan(0);
    for (const system of SYSTEMS) expect(crons).toEqual(expect.arrayContaining(Object.keys((await system.load()).jobs ?? {})));
  });

  it('come due at their UTC slots: a slot at `since` is past, one at `now` is due', () => {
    expect(nextSlot(crons, at('2026-11-26T02:58:30Z'))).toEqual(at('2026-11-26T02:59:00Z'));
    expect(nextSlot([daily], at('2026-11-26T02:58:30Z'))).toEqual(at('2026-11-26T03:00:00Z'));
    expect(nextSlot([daily], at('2026-11-26T03:00:00Z'))).toEqual(at('2026-11-27T03:00:00Z'));

    expect(dueRuns(crons, at('2026-11-26T02:59:00Z'), at('2026-11-26T03:00:00Z'))).toEqual([
      { cron: everyMinute, scheduledTime: at('2026-11-26T03:00:00Z'), skipped: 0 },
      { cron: daily, scheduledTime: at('2026-11-26T03:00:00Z'), skipped: 0 },
    ]);
    expect(dueRuns(crons, at('2026-11-26T03:00:00Z'), at('2026-11-26T03:00:59.999Z'))).toEqual([]);
  });

  it('fold missed slots into one run per cron, for the latest slot', () => {
    expect(dueRuns(crons, at('2026-11-26T02:58:30Z'), at('2026-11-26T05:10:00Z'))).toEqual([
      { cron: daily, scheduledTime: at('2026-11-26T03:00:00Z'), skipped: 0 },
      { cron: everyMinute, scheduledTime: at('2026-11-26T05:10:00Z'), skipped: 131 },
    ]);
  });
});

describe('the runner', () => {
  it('fires every cron once per slot, with the slot as its scheduled time', () => {
    const t = manualClock('2026-11-26T02:58:30Z');
    const fired: DueRun[] = [];
    const runner = startCronRunner(crons, (run) => fired.push(run), t.clock);

    expect(t.delay()).toBe(30_000);
    for (let i = 0; i < 4; i++) t.fireNext(i * 700); // on time, then later and later, as timers are
    runner.stop();

    expect(byCron(fired)).toEqual({
      [everyMinute]: ['2026-11-26T02:59:00.000Z', '2026-11-26T03:00:00.000Z', '2026-11-26T03:01:00.000Z', '2026-11-26T03:02:00.000Z'],
      [daily]: ['2026-11-26T03:00:00.000Z'],
    });
    expect(fired.every((run) => run.skipped === 0)).toBe(true);
    expect(t.delay()).toBeNull();
  });

  it('fires nothing on an early wake-up and nothing twice for one slot', () => {
    const t = manualClock('2026-11-26T02:59:10Z');
    const fired: DueRun[] = [];
    startCronRunner(crons, (run) => fired.push(run), t.clock);

    t.fireNext(-250); // woken before 03:00 (a clock step back): not due yet
    expect(fired).toEqual([]);
    expect(t.delay()).toBe(250);
    t.fireNext();
    t.fireNext(-59_000); // just after 03:00 again: nothing new
    expect(byCron(fired)).toEqual({ [everyMinute]: ['2026-11-26T03:00:00.000Z'], [daily]: ['2026-11-26T03:00:00.000Z'] });
  });

  it('sleeps at most a minute, and after a long suspend runs each cron once', () => {
    const t = manualClock('2026-11-26T04:00:30Z');
    const fired: DueRun[] = [];
    startCronRunner([daily], (run) => fired.push(run), t.clock);
    expect(t.delay()).toBe(60_000);

    t.fireNext(2 * 86_400_000); // the machine slept through two daily slots
    expect(fired).toEqual([{ cron: daily, scheduledTime: at('2026-11-28T03:00:00Z'), skipped: 1 }]);
  });
});

describe('the off switch', () => {
  it('is --no-crons or DEV_CRONS=off|0|false|no; crons run otherwise', () => {
    expect(cronsEnabled([], {})).toBe(true);
    expect(cronsEnabled([], { DEV_CRONS: 'on' })).toBe(true);
    expect(cronsEnabled(['--no-crons'], {})).toBe(false);
    for (const value of ['off', '0', 'false', 'NO', ' off ']) expect(cronsEnabled([], { DEV_CRONS: value })).toBe(false);
  });
});
