import { z } from "@hono/zod-openapi";
import { Cron } from "croner";
import { Timestamp } from "../platform/schemas";
import { SCHEDULE_TYPES } from "./schema";

export type ScheduleType = (typeof SCHEDULE_TYPES)[number];

/** Every tick is a minute: a shorter interval could not be kept. */
const MIN_INTERVAL_SECONDS = 60;

/** A task's schedule as clients give it: the type and the one field that type uses. */
export const ScheduleFields = z.object({
  scheduleType: z.enum(SCHEDULE_TYPES),
  cronExpression: z.string().max(100).nullish().openapi({ description: "five-field cron, UTC (scheduleType cron)", example: "0 9 * * *" }),
  intervalSeconds: z.number().int().min(MIN_INTERVAL_SECONDS).max(366 * 86_400).nullish().openapi({ description: "scheduleType interval" }),
  runAt: Timestamp.nullish().openapi({ description: "scheduleType one_time" }),
});

export type Schedule = z.infer<typeof ScheduleFields>;

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

/** Exactly the field its schedule type uses; the cron expression must parse. */
export function checkSchedule(s: Schedule, ctx: z.RefinementCtx) {
  const uses = { cron: "cronExpression", interval: "intervalSeconds", one_time: "runAt" } as const;
  for (const [type, field] of Object.entries(uses)) {
    const present = s[field] !== undefined && s[field] !== null;
    if (type === s.scheduleType && !present) ctx.addIssue({ code: "custom", path: [field], message: `required when scheduleType is ${type}` });
    if (type !== s.scheduleType && present) ctx.addIssue({ code: "custom", path: [field], message: `only allowed when scheduleType is ${type}` });
  }
  if (s.scheduleType === "cron" && s.cronExpression) {
    const problem = cronProblem(s.cronExpression);
    if (problem) ctx.addIssue({ code: "custom", path: ["cronExpression"], message: problem });
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

/** The columns a (new) schedule sets, its first run counted from `now`. */
export const scheduleColumns = (s: Schedule, now: Date) => ({
  scheduleType: s.scheduleType,
  cronExpression: s.cronExpression ?? null,
  intervalSeconds: s.intervalSeconds ?? null,
  nextRunAt: nextRunAt(s, now, true),
});
