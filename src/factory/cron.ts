/**
 * Five-field cron expressions (minute hour day-of-month month day-of-week) evaluated in an IANA
 * time zone through Intl (no eval, no dependency). Workflows' schedule triggers use it: the
 * minute cron asks slotsBetween() which slots fell since its last run and claims each once.
 *
 * Daylight saving time (docs/factory-workflows.md, "Triggers"), as Vixie cron does it:
 * - a local time skipped when clocks go forward fires once, at the first instant after the gap;
 * - a local time repeated when clocks go back fires once, at its first occurrence;
 * unless the expression's hour field is `*`: then it runs by the clock as it reads, so it skips
 * the gap and fires in both passes of a repeated hour (an every-15-minutes job stays one).
 */

export class CronError extends Error {}

interface Field {
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly Field[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"] },
  // 0 and 7 are both Sunday.
  { min: 0, max: 7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] },
];
const FIELD_NAMES = ["minute", "hour", "day of month", "month", "day of week"];

const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

export interface CronSchedule {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  days: ReadonlySet<number>;
  months: ReadonlySet<number>;
  weekdays: ReadonlySet<number>;
  /** Day of month and day of week both restricted: either matching is enough (cron's rule). */
  dayOr: boolean;
  /** The hour field is `*`: repeated local times fire again (see above). */
  everyHour: boolean;
}

function value(text: string, field: Field, name: string): number {
  const upper = text.toUpperCase();
  const named = field.names?.indexOf(upper) ?? -1;
  if (named >= 0) return named + (field.names!.length === 12 ? 1 : 0);
  if (!/^\d{1,2}$/.test(text)) throw new CronError(`${name}: '${text}' is not a number${field.names ? " or a name" : ""}`);
  const n = Number(text);
  if (n < field.min || n > field.max) throw new CronError(`${name}: ${n} is outside ${field.min}-${field.max}`);
  return n;
}

function parseField(text: string, field: Field, name: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const [range, stepText, extra] = part.split("/");
    if (extra !== undefined || range === undefined || range === "") throw new CronError(`${name}: '${part}' is not a value, range or step`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d{1,2}$/.test(stepText) || Number(stepText) === 0) throw new CronError(`${name}: step '${stepText}' must be a positive number`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === "*") [lo, hi] = [field.min, field.max];
    else if (range.includes("-")) {
      const [a, b, more] = range.split("-");
      if (more !== undefined || !a || !b) throw new CronError(`${name}: '${range}' is not a range`);
      [lo, hi] = [value(a, field, name), value(b, field, name)];
      if (lo > hi) throw new CronError(`${name}: range ${range} runs backwards`);
    } else {
      lo = value(range, field, name);
      hi = stepText === undefined ? lo : field.max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** Parses an expression (5 fields, names, lists, ranges, steps, @daily and friends); a CronError says what is wrong. */
export function parseCron(expression: string): CronSchedule {
  const text = MACROS[expression.trim().toLowerCase()] ?? expression.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5) throw new CronError(`must have 5 fields (minute hour day-of-month month day-of-week), not ${parts.length}`);
  const [minutes, hours, days, months, weekdays] = parts.map((p, i) => parseField(p, FIELDS[i]!, FIELD_NAMES[i]!));
  if (weekdays!.delete(7)) weekdays!.add(0);
  return { minutes: minutes!, hours: hours!, days: days!, months: months!, weekdays: weekdays!, dayOr: parts[2] !== "*" && parts[4] !== "*", everyHour: parts[1] === "*" };
}

/** Whether the time zone is one Intl knows (an IANA name such as Asia/Seoul, or UTC). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric" });
    formatters.set(tz, f);
  }
  return f;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The zone's offset from UTC at an instant (ms), through Intl: local wall time read as UTC, minus the instant. */
function offsetAt(ms: number, tz: string): number {
  const p: Record<string, number> = {};
  for (const { type, value: v } of formatter(tz).formatToParts(ms)) if (type !== "literal") p[type] = Number(v);
  const local = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!);
  return local - Math.floor(ms / MINUTE) * MINUTE;
}

/** Local wall time fields of a "local instant" (local wall time encoded as UTC ms). */
function fieldsOf(localMs: number) {
  const d = new Date(localMs);
  return { minute: d.getUTCMinutes(), hour: d.getUTCHours(), day: d.getUTCDate(), month: d.getUTCMonth() + 1, weekday: d.getUTCDay() };
}

/** Whether a local wall time matches. */
export function matchesLocal(s: CronSchedule, localMs: number): boolean {
  const f = fieldsOf(localMs);
  if (!s.minutes.has(f.minute) || !s.hours.has(f.hour) || !s.months.has(f.month)) return false;
  const dom = s.days.has(f.day);
  const dow = s.weekdays.has(f.weekday);
  return s.dayOr ? dom || dow : dom && dow;
}

/** The longest range slotsBetween() walks: the minute cron asks for minutes, a catch-up for hours. */
export const MAX_SLOT_RANGE_MS = 7 * 24 * HOUR;

/**
 * The slots of `expression` in time zone `tz` within (from, to]: the UTC instants (whole minutes)
 * at which it fires, oldest first, DST handled as the module says. A range longer than
 * MAX_SLOT_RANGE_MS is refused (RangeError).
 */
export function slotsBetween(expression: string | CronSchedule, tz: string, from: Date, to: Date): Date[] {
  const s = typeof expression === "string" ? parseCron(expression) : expression;
  if (to.getTime() - from.getTime() > MAX_SLOT_RANGE_MS) throw new RangeError("slotsBetween covers at most 7 days");
  const offsets = new Map<number, number>();
  // An offset changes only at a transition, which zones put on whole quarter hours: one Intl call
  // per hour when the hour's start and end agree, per minute otherwise.
  const offset = (ms: number) => {
    const hour = Math.floor(ms / HOUR) * HOUR;
    let o = offsets.get(hour);
    if (o === undefined) {
      const start = offsetAt(hour, tz);
      o = start === offsetAt(hour + HOUR - MINUTE, tz) ? start : Number.NaN;
      offsets.set(hour, o);
    }
    return Number.isNaN(o) ? offsetAt(ms, tz) : o;
  };
  const slots: Date[] = [];
  for (let t = Math.floor(from.getTime() / MINUTE) * MINUTE + MINUTE; t <= to.getTime(); t += MINUTE) {
    const off = offset(t);
    const local = t + off;
    const before = offset(t - MINUTE);
    let fires = matchesLocal(s, local);
    if (fires && !s.everyHour) {
      // The second pass of a repeated local time: an earlier instant had this wall time.
      const earlier = offset(t - 3 * HOUR);
      if (earlier > off) {
        const first = t - (earlier - off);
        if (offset(first) === earlier) fires = false;
      }
    }
    if (!fires && !s.everyHour && off > before) {
      // Clocks went forward just now: local times in the gap never happened; they fire here.
      for (let skipped = local - (off - before); skipped < local && !fires; skipped += MINUTE) fires = matchesLocal(s, skipped);
    }
    if (fires) slots.push(new Date(t));
  }
  return slots;
}
