import { Cron } from "croner";

/**
 * The crons of wrangler.toml [triggers] for `npm run dev`: `wrangler dev` never fires them, so the
 * dev script asks the Worker to run each one on its schedule through `/__scheduled`
 * (`wrangler dev --test-scheduled`).
 */

/** A cron whose slots came due: the latest slot, and how many earlier ones were folded into it. */
export interface DueRun {
  cron: string;
  scheduledTime: Date;
  skipped: number;
}

/** What the runner needs from the clock: the tests drive it by hand. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Never sleep longer than this, so a suspended laptop or a clock change is noticed within a minute. */
const MAX_SLEEP_MS = 60_000;

/** Cloudflare evaluates crons in UTC. */
const parse = (cron: string) => new Cron(cron, { timezone: "UTC", paused: true });

/** The `crons` of wrangler.toml [triggers], read the way wrangler reads them. */
export async function readCrons(configPath = "wrangler.toml"): Promise<string[]> {
  const { experimental_readRawConfig } = await import("wrangler");
  return experimental_readRawConfig({ config: configPath }).rawConfig.triggers?.crons ?? [];
}

/** `npm run dev -- --no-crons` or `DEV_CRONS=off` (also 0, false, no) turns the runner off. */
export function cronsEnabled(argv: readonly string[], env: Record<string, string | undefined>): boolean {
  if (argv.includes("--no-crons")) return false;
  return !/^(off|0|false|no)$/i.test(env.DEV_CRONS?.trim() ?? "");
}

/** The earliest slot of any cron strictly after `after`. */
export function nextSlot(crons: readonly string[], after: Date): Date | null {
  const slots = crons.map((cron) => parse(cron).nextRun(after)).filter((d): d is Date => d !== null);
  return slots.length ? new Date(Math.min(...slots.map((d) => d.getTime()))) : null;
}

/**
 * The crons with a slot in (since, now], in slot order. Missed slots are not replayed one by one
 * (after a suspended laptop that would be hundreds of runs): each cron runs once, for its latest
 * slot, as Cloudflare does not backfill missed runs either.
 */
export function dueRuns(crons: readonly string[], since: Date, now: Date): DueRun[] {
  const runs: DueRun[] = [];
  for (const cron of crons) {
    const schedule = parse(cron);
    let latest: Date | null = null;
    let count = 0;
    for (let slot = schedule.nextRun(since); slot && slot <= now; slot = schedule.nextRun(slot)) {
      latest = slot;
      count++;
    }
    if (latest) runs.push({ cron, scheduledTime: latest, skipped: count - 1 });
  }
  return runs.sort((a, b) => a.scheduledTime.getTime() - b.scheduledTime.getTime());
}

/**
 * Fires each cron once per slot from now on. Every wake-up handles the window since the previous
 * one, so a late timer still fires its slot and an early one fires nothing twice.
 */
export function startCronRunner(crons: readonly string[], fire: (run: DueRun) => void, clock: Clock = systemClock): { stop(): void } {
  let since = new Date(clock.now());
  let timer: unknown;
  let stopped = false;

  const arm = () => {
    const next = nextSlot(crons, since);
    if (stopped || !next) return;
    timer = clock.setTimeout(wake, Math.min(Math.max(0, next.getTime() - clock.now()), MAX_SLEEP_MS));
  };
  const wake = () => {
    const now = new Date(clock.now());
    if (now > since) {
      for (const run of dueRuns(crons, since, now)) fire(run);
      since = now;
    }
    arm();
  };

  arm();
  return {
    stop() {
      stopped = true;
      clock.clearTimeout(timer);
    },
  };
}

/**
 * Runs one cron on a `wrangler dev --test-scheduled` Worker and says how it went ("ok" once the
 * jobs are handed off; each job logs its own report). wrangler's /__scheduled passes only the cron:
 * the Worker sees the time of this call, which the runner makes at the slot, as scheduledTime.
 */
export async function triggerScheduled(baseUrl: string, cron: string): Promise<string> {
  const res = await fetch(`${baseUrl}/__scheduled?${new URLSearchParams({ cron })}`);
  const body = await res.text();
  return res.ok ? "ok" : `HTTP ${res.status} ${body.slice(0, 200)}`;
}
