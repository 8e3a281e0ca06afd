import { describe, expect, it } from "vitest";
import { buildPlan, dayTemplates, daysBetween, FULL_SCHEDULE_DAYS, MAX_PLAN_DAYS, MINUTES, PlanRangeError, type PlannedTask } from "../../src/exam/plan-builder";

const addDays = (iso: string, n: number) => new Date(Date.parse(`${iso}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const START = "2027-01-04";
const plan = (targetType: "PASS_FIRST" | "HIGH_SCORE" | "PRACTICAL", days: number, level: keyof typeof MINUTES = "ASSOCIATE") =>
  buildPlan({ level, targetType, startDate: START, examDate: addDays(START, days) });
const byDay = (tasks: PlannedTask[]) => {
  const days = new Map<string, PlannedTask[]>();
  for (const t of tasks) days.set(t.taskDate, [...(days.get(t.taskDate) ?? []), t]);
  return days;
};
const countOf = (tasks: PlannedTask[], type: string) => tasks.filter((t) => t.taskType === type).length;

describe("plan builder", () => {
  it("covers every day from the start to the day before the exam, nothing on or after the exam", () => {
    const p = plan("PASS_FIRST", 40);
    const days = [...byDay(p.tasks).keys()];
    expect(days[0]).toBe(START);
    expect(days.at(-1)).toBe(addDays(START, 39));
    expect(days).toHaveLength(40);
    expect(p.compressionFlag).toBe(false);
  });

  it("keeps every day within the level's budget, except a mock day which holds the mock alone", () => {
    for (const level of Object.keys(MINUTES) as (keyof typeof MINUTES)[]) {
      for (const target of ["PASS_FIRST", "HIGH_SCORE", "PRACTICAL"] as const) {
        for (const days of [1, 2, 5, 10, 30, 60]) {
          const p = plan(target, days, level);
          for (const [, tasks] of byDay(p.tasks)) {
            if (tasks.some((t) => t.taskType === "MOCK")) expect(tasks.map((t) => t.taskType)).toEqual(["MOCK"]);
            else expect(tasks.reduce((m, t) => m + t.estMinutes, 0)).toBeLessThanOrEqual(p.compression.dailyBudgetMinutes);
            for (const t of tasks) expect(t.estMinutes).toBe(MINUTES[level][t.taskType]);
          }
        }
      }
    }
  });

  it("follows every lab with a review the same day", () => {
    for (const target of ["PASS_FIRST", "HIGH_SCORE", "PRACTICAL"] as const) {
      for (const [, tasks] of byDay(plan(target, 45).tasks)) {
        const types = tasks.map((t) => t.taskType);
        const lab = types.indexOf("LAB");
        if (lab >= 0) expect(types[lab + 1]).toBe("REVIEW");
      }
    }
  });

  it("puts mocks in the final stretch (6 and 3 days before), a review the day after, and a light last day", () => {
    const p = plan("PASS_FIRST", 40);
    const days = byDay(p.tasks);
    const mockDays = p.tasks.filter((t) => t.taskType === "MOCK").map((t) => daysBetween(t.taskDate, addDays(START, 40)));
    expect(mockDays).toEqual([6, 3]);
    expect(p.compression.mockDaysBeforeExam).toEqual([6, 3]);
    expect(days.get(addDays(START, 35))![0]!.taskType).toBe("REVIEW");
    expect(days.get(addDays(START, 38))![0]!.taskType).toBe("REVIEW");
    expect(days.get(addDays(START, 39))!.map((t) => t.taskType)).toEqual(["REVIEW", "DRILL"]);
  });

  it("gives HIGH_SCORE the most drills and PRACTICAL the most labs", () => {
    const [pass, high, practical] = (["PASS_FIRST", "HIGH_SCORE", "PRACTICAL"] as const).map((t) => plan(t, 60).tasks);
    expect(countOf(high!, "DRILL")).toBeGreaterThan(countOf(pass!, "DRILL"));
    expect(countOf(pass!, "DRILL")).toBeGreaterThan(countOf(practical!, "DRILL"));
    expect(countOf(practical!, "LAB")).toBeGreaterThan(countOf(pass!, "LAB"));
    expect(countOf(pass!, "LAB")).toBeGreaterThan(countOf(high!, "LAB"));
  });

  it("numbers drills 1..n in order so the database can aim them at the top error codes round-robin", () => {
    const tasks = plan("HIGH_SCORE", 30).tasks;
    const drills = tasks.filter((t) => t.taskType === "DRILL").map((t) => t.drillNo);
    expect(drills).toEqual(drills.map((_, i) => i + 1));
    expect(tasks.filter((t) => t.taskType !== "DRILL").every((t) => t.drillNo === null)).toBe(true);
  });

  it("compresses when fewer days are left than the full schedule needs", () => {
    expect(plan("PASS_FIRST", FULL_SCHEDULE_DAYS).compressionFlag).toBe(false);
    const short = plan("PASS_FIRST", FULL_SCHEDULE_DAYS - 1);
    expect(short.compressionFlag).toBe(true);
    expect(short.compression).toMatchObject({ availableDays: 27, fullScheduleDays: 28, dailyBudgetMinutes: 135, mockDaysBeforeExam: [2] });
    expect(countOf(short.tasks, "MOCK")).toBe(1);
    expect(countOf(plan("PASS_FIRST", 3).tasks, "MOCK")).toBe(1);
    expect(countOf(plan("PASS_FIRST", 2).tasks, "MOCK")).toBe(0);
    expect(plan("PASS_FIRST", 1).tasks.map((t) => t.taskType)).toEqual(["LAB", "REVIEW", "DRILL", "DRILL"]);
  });

  it("refuses a start on or after the exam and plans longer than a year", () => {
    expect(() => plan("PASS_FIRST", 0)).toThrow(PlanRangeError);
    expect(() => plan("PASS_FIRST", -3)).toThrow(PlanRangeError);
    expect(() => plan("PASS_FIRST", MAX_PLAN_DAYS + 1)).toThrow(PlanRangeError);
    expect(plan("PASS_FIRST", MAX_PLAN_DAYS).tasks.length).toBeLessThan(MAX_PLAN_DAYS * 6);
  });

  it("lists every possible day once as a template for the SQL writer", () => {
    const templates = dayTemplates();
    expect(templates).toHaveLength(5 * 3 * 2 * 6);
    const keys = templates.map((t) => [t.level, t.targetType, t.compressed, t.kind, t.afterMock, t.labDay].join());
    expect(new Set(keys).size).toBe(templates.length);
    expect(templates.filter((t) => t.kind === "MOCK").every((t) => t.tasks.join() === "MOCK")).toBe(true);
    expect(templates.filter((t) => t.kind === "STUDY" && t.afterMock).every((t) => t.tasks[0] === "REVIEW")).toBe(true);
  });
});
