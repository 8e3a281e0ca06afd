import { Cron } from "croner";
import type { SCHEDULE_TYPES } from "./schema";

export type ScheduleType = (typeof SCHEDULE_TYPES)[number];

export interface Schedule {
  scheduleType: ScheduleType;
  cronExpression?: string | null;
  intervalSeconds?: number | null;
  runAt?: string | null;
}

/** A parsed expression that never fires on its own: only asked for occurrences. */
const parse = (expression: string) => new Cron(expression, { timezone: "UTC", paused: true });

/** Why a 5-field cron expression is unusable, or null when croner accepts it. */
export function cronProblem(expression: string): string | null {
  // The scheduler ticks once a minute: a seconds field would promise what it cannot keep.
  if (expression.trim().split(/\s+/).length !== 5) return "must have five fields (minute hour day-of-month month day-of-week)";
  try {
    // An expression with no future occurrence (e.g. 30 February) is as unusable as a malformed one.
    return parse(expression).nextRun() ? null : "never occurs";
  } catch (err) {
    return err instanceof Error ? err.message : "is not a cron expression";
  }
}

/**
 * When a task runs next, computed by the server: the first cron occurrence after `after` (UTC),
 * `after` + the interval, or a one-time task's runAt (null once it has run).
 * Missed occurrences are not caught up one by one: the next run counts from `after`.
 */
export function nextRunAt(schedule: Schedule, after: Date, firstRun: boolean): Date | null {
  switch (schedule.scheduleType) {
    case "cron":
      return parse(schedule.cronExpression as string).nextRun(after);
    case "interval":
      return new Date(after.getTime() + (schedule.intervalSeconds as number) * 1000);
    case "one_time":
      return firstRun ? new Date(schedule.runAt as string) : null;
  }
}
