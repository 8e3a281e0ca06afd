/**
 * Study-plan rules (pure: no I/O, so every rule is unit tested). A plan covers the days from its
 * start date to the day before the exam; the exam day itself has no tasks.
 *
 * - Daily time budget by level (younger learners get shorter days); tasks fill a day in order
 *   until the next one would exceed it. A mock day holds the mock alone.
 * - Labs: PRACTICAL every day, PASS_FIRST every second day, HIGH_SCORE every third day; every lab
 *   is followed by a REVIEW of it the same day.
 * - Drills fill the rest of the budget, at most 1 a day for PRACTICAL, 2 for PASS_FIRST, 4 for
 *   HIGH_SCORE (more drills for HIGH_SCORE, more labs for PRACTICAL). Each drill has an ordinal
 *   (`drillNo`): the database assigns it the learner's top error codes round-robin.
 * - Final stretch: mock exams 6 and 3 days before the exam, a REVIEW of the mock first thing the
 *   day after, and the day before the exam only a light review and one drill.
 * - The full schedule needs FULL_SCHEDULE_DAYS days. With fewer, the plan is compressed: the daily
 *   budget grows by half and the final stretch shrinks to one mock 2 days before the exam (none
 *   when fewer than 3 days are left).
 *
 * A day's tasks depend only on the level, the target, whether the plan is compressed and the day's
 * shape (mock day, last day, or a study day after a mock or not, with a lab or not). The API
 * writes plans in SQL from `dayTemplates()` and the same day shapes (plan-sql.ts), so that
 * one statement can read the profile and write the plan; a test holds that SQL to `buildPlan`.
 */
import type { LEVELS, TARGET_TYPES } from "./schema";

export type Level = (typeof LEVELS)[number];
export type TargetType = (typeof TARGET_TYPES)[number];
export type TaskType = "DRILL" | "LAB" | "REVIEW" | "MOCK";

export const FULL_SCHEDULE_DAYS = 28;
/** Longest plan built at once: a year of days, so one insert stays a few thousand rows at most. */
export const MAX_PLAN_DAYS = 366;
export const COMPRESSED_BUDGET_FACTOR = 1.5;
/** Mock days, in days before the exam: full schedule; compressed, when at least MIN_DAYS_FOR_COMPRESSED_MOCK days are left. */
export const FULL_MOCKS = [6, 3];
export const COMPRESSED_MOCKS = [2];
export const MIN_DAYS_FOR_COMPRESSED_MOCK = 3;

interface LevelMinutes {
  budget: number;
  DRILL: number;
  LAB: number;
  REVIEW: number;
  MOCK: number;
}

export const MINUTES: Record<Level, LevelMinutes> = {
  FUTURE: { budget: 40, DRILL: 10, LAB: 20, REVIEW: 10, MOCK: 40 },
  JUNIOR: { budget: 45, DRILL: 10, LAB: 25, REVIEW: 10, MOCK: 45 },
  BASIC: { budget: 60, DRILL: 15, LAB: 30, REVIEW: 15, MOCK: 60 },
  ASSOCIATE: { budget: 90, DRILL: 15, LAB: 45, REVIEW: 15, MOCK: 90 },
  PROFESSIONAL: { budget: 120, DRILL: 20, LAB: 60, REVIEW: 20, MOCK: 120 },
};

export const LAB_EVERY: Record<TargetType, number> = { PRACTICAL: 1, PASS_FIRST: 2, HIGH_SCORE: 3 };
const DRILLS_PER_DAY: Record<TargetType, number> = { PRACTICAL: 1, PASS_FIRST: 2, HIGH_SCORE: 4 };

export interface PlanInput {
  level: Level;
  targetType: TargetType;
  /** YYYY-MM-DD, the first day with tasks. */
  startDate: string;
  /** YYYY-MM-DD, the exam day (no tasks). */
  examDate: string;
}

export interface PlannedTask {
  taskDate: string;
  taskType: TaskType;
  estMinutes: number;
  /** 1-based ordinal among the plan's drills; null for other tasks. */
  drillNo: number | null;
}

export interface Compression {
  availableDays: number;
  fullScheduleDays: number;
  dailyBudgetMinutes: number;
  mockDaysBeforeExam: number[];
}

export interface BuiltPlan {
  compressionFlag: boolean;
  compression: Compression;
  tasks: PlannedTask[];
}

export class PlanRangeError extends Error {}

export type DayKind = "MOCK" | "LAST" | "STUDY";

export interface DayShape {
  kind: DayKind;
  /** STUDY only: the day after a mock (starts with the mock's review). */
  afterMock: boolean;
  /** STUDY only: a lab day for this target. */
  labDay: boolean;
}

const DAY_MS = 86_400_000;
const toDay = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / DAY_MS;
const fromDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

/** Days from `from` to `to` (both YYYY-MM-DD). */
export function daysBetween(from: string, to: string): number {
  return toDay(to) - toDay(from);
}

/** The plan's length, or why there can be no plan. */
export function checkRange(availableDays: number): void {
  if (availableDays < 1) throw new PlanRangeError("the start date must be before the exam date");
  if (availableDays > MAX_PLAN_DAYS) throw new PlanRangeError(`the exam is more than ${MAX_PLAN_DAYS} days after the start date`);
}

export function compressionOf(level: Level, availableDays: number): Compression {
  const compressed = availableDays < FULL_SCHEDULE_DAYS;
  return {
    availableDays,
    fullScheduleDays: FULL_SCHEDULE_DAYS,
    dailyBudgetMinutes: compressed ? Math.round(MINUTES[level].budget * COMPRESSED_BUDGET_FACTOR) : MINUTES[level].budget,
    mockDaysBeforeExam: !compressed ? FULL_MOCKS : availableDays >= MIN_DAYS_FOR_COMPRESSED_MOCK ? COMPRESSED_MOCKS : [],
  };
}

/** The shape of day i (0-based) of a plan of n days. */
export function dayShape(i: number, n: number, targetType: TargetType, mocks: number[]): DayShape {
  const daysBefore = n - i;
  if (mocks.includes(daysBefore)) return { kind: "MOCK", afterMock: false, labDay: false };
  if (daysBefore === 1 && n > 1) return { kind: "LAST", afterMock: false, labDay: false };
  return { kind: "STUDY", afterMock: mocks.includes(daysBefore + 1), labDay: i % LAB_EVERY[targetType] === 0 };
}

/** The tasks of one day, in order. */
export function dayTasks(level: Level, targetType: TargetType, budget: number, shape: DayShape): TaskType[] {
  const minutes = MINUTES[level];
  if (shape.kind === "MOCK") return ["MOCK"];
  if (shape.kind === "LAST") return ["REVIEW", "DRILL"];
  const day: TaskType[] = [];
  let used = 0;
  const add = (type: TaskType) => {
    day.push(type);
    used += minutes[type];
  };
  if (shape.afterMock) add("REVIEW");
  // A lab only when its review fits the same day too.
  if (shape.labDay && used + minutes.LAB + minutes.REVIEW <= budget) {
    add("LAB");
    add("REVIEW");
  }
  for (let d = 0; d < DRILLS_PER_DAY[targetType] && used + minutes.DRILL <= budget; d++) add("DRILL");
  if (day.length === 0) add("DRILL");
  return day;
}

export interface DayTemplate {
  level: Level;
  targetType: TargetType;
  compressed: boolean;
  kind: DayKind;
  afterMock: boolean;
  labDay: boolean;
  tasks: TaskType[];
}

/** Every possible day: the table the SQL plan writer joins its day shapes to. */
export function dayTemplates(): DayTemplate[] {
  const out: DayTemplate[] = [];
  for (const level of Object.keys(MINUTES) as Level[]) {
    for (const targetType of Object.keys(LAB_EVERY) as TargetType[]) {
      for (const compressed of [false, true]) {
        const budget = compressionOf(level, compressed ? 1 : FULL_SCHEDULE_DAYS).dailyBudgetMinutes;
        const shapes: DayShape[] = [
          { kind: "MOCK", afterMock: false, labDay: false },
          { kind: "LAST", afterMock: false, labDay: false },
          ...[false, true].flatMap((afterMock) => [false, true].map((labDay): DayShape => ({ kind: "STUDY", afterMock, labDay }))),
        ];
        for (const shape of shapes) out.push({ level, targetType, compressed, ...shape, tasks: dayTasks(level, targetType, budget, shape) });
      }
    }
  }
  return out;
}

export function buildPlan(input: PlanInput): BuiltPlan {
  const availableDays = daysBetween(input.startDate, input.examDate);
  checkRange(availableDays);
  const compression = compressionOf(input.level, availableDays);
  const tasks: PlannedTask[] = [];
  let drillNo = 0;
  const start = toDay(input.startDate);
  for (let i = 0; i < availableDays; i++) {
    const shape = dayShape(i, availableDays, input.targetType, compression.mockDaysBeforeExam);
    for (const type of dayTasks(input.level, input.targetType, compression.dailyBudgetMinutes, shape)) {
      tasks.push({ taskDate: fromDay(start + i), taskType: type, estMinutes: MINUTES[input.level][type], drillNo: type === "DRILL" ? ++drillNo : null });
    }
  }
  return { compressionFlag: availableDays < FULL_SCHEDULE_DAYS, compression, tasks };
}
