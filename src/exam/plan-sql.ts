import { and, eq, sql, type SQL } from "drizzle-orm";
import type { Principal } from "../platform/auth";
import type { Database } from "../platform/db";
import { columnsOf } from "../platform/table-schema";
import { outboxFrom } from "./outbox-from";
import {
  COMPRESSED_MOCKS,
  dayTemplates,
  FULL_MOCKS,
  FULL_SCHEDULE_DAYS,
  LAB_EVERY,
  MAX_PLAN_DAYS,
  MIN_DAYS_FOR_COMPRESSED_MOCK,
  MINUTES,
} from "./plan-builder";
import { examProfiles, planTasks, plans } from "./schema";

/** A plan as the API shows it: ready_index_snapshot is served as readyIndex. */
const { readyIndexSnapshot, ...planRest } = columnsOf(plans);
export const planColumns = { ...planRest, readyIndex: readyIndexSnapshot };

/** The day table as compact rows: one per (level, target, compressed, day shape), tasks comma-joined. */
const TEMPLATES = JSON.stringify(
  dayTemplates().map((t) => ({ lvl: t.level, tgt: t.targetType, cmp: t.compressed, knd: t.kind, aft: t.afterMock, lab: t.labDay, tasks: t.tasks.join(",") })),
);
const pgIntArray = (xs: number[]) => `{${xs.join(",")}}`;

/**
 * Writes every task of plan `planId` from `fromDate` to the day before its exam in one multi-row
 * INSERT … SELECT: the profile's level and target pick day templates (plan-builder.ts), each day's
 * shape is worked out here exactly as `dayShape` does, and drill n aims at the caller's top error
 * codes round-robin (mistake_stats, top 5 by occurrences; none without mistakes). It does what
 * `buildPlan` does, in the database, so a request reads the profile and writes the plan in one
 * round trip; exam-plans.test.ts holds the two to the same output. Writes nothing unless `guard`.
 */
function insertTasks(db: Database, planId: string, fromDate: SQL, guard: SQL) {
  return db.execute<{ task_type: string; ref_id: string | null }>(sql`
    with p as (
      select pr.level, pr.target_type, ${fromDate} as from_date, pl.exam_date - ${fromDate} as n
        from exam.plans pl join exam.exam_profiles pr on pr.id = pl.exam_profile_id
       where pl.id = ${planId}::uuid and ${guard}
    ), shaped as (
      select p.*, g.i, p.n - g.i as before,
             case when p.n >= ${FULL_SCHEDULE_DAYS}::int then ${pgIntArray(FULL_MOCKS)}::int[]
                  when p.n >= ${MIN_DAYS_FOR_COMPRESSED_MOCK}::int then ${pgIntArray(COMPRESSED_MOCKS)}::int[]
                  else '{}'::int[] end as mocks
        from p, generate_series(0, p.n - 1) as g(i)
    ), days as (
      select s.from_date + s.i as task_date, s.level, s.target_type, s.n < ${FULL_SCHEDULE_DAYS}::int as compressed,
             case when s.before = any(s.mocks) then 'MOCK' when s.before = 1 and s.n > 1 then 'LAST' else 'STUDY' end as kind,
             (s.before + 1) = any(s.mocks) as after_mock,
             s.i % (${JSON.stringify(LAB_EVERY)}::jsonb ->> s.target_type)::int = 0 as lab_day
        from shaped s
    ), planned as (
      select d.task_date, x.seq, x.task_type, (${JSON.stringify(MINUTES)}::jsonb -> d.level ->> x.task_type)::int as est_minutes
        from days d
        join jsonb_to_recordset(${TEMPLATES}::jsonb) as t(lvl text, tgt text, cmp boolean, knd text, aft boolean, lab boolean, tasks text)
          on t.lvl = d.level and t.tgt = d.target_type and t.cmp = d.compressed and t.knd = d.kind
         and t.aft = (d.kind = 'STUDY' and d.after_mock) and t.lab = (d.kind = 'STUDY' and d.lab_day)
        cross join lateral unnest(string_to_array(t.tasks, ',')) with ordinality as x(task_type, seq)
    ), numbered as (
      select pt.*, case when pt.task_type = 'DRILL' then row_number() over (partition by pt.task_type order by pt.task_date, pt.seq) end as drill_no
        from planned pt
    ), top as (
      select m.id, (row_number() over (order by m.occurrences desc, m.error_code) - 1)::int as rn
        from exam.mistake_stats m
       where m.user_id = app.user_id() and m.occurrences > 0
       order by m.occurrences desc, m.error_code
       limit 5
    ), top_count as (select count(*)::int as n from top)
    insert into exam.plan_tasks (id, plan_id, task_date, task_type, ref_id, status, est_minutes)
    select gen_random_uuid(), ${planId}::uuid, nb.task_date, nb.task_type, top.id, 'TODO', nb.est_minutes
      from numbered nb
      cross join top_count
      left join top on nb.drill_no is not null and top.rn = (nb.drill_no - 1)::int % nullif(top_count.n, 0)
    returning task_type, ref_id`);
}

/** The caller's profile, read in the same batch: explains a plan that was not written. */
const profileOf = (db: Database) =>
  db
    .select({ level: examProfiles.level, examDate: examProfiles.examDate })
    .from(examProfiles)
    .where(sql`${examProfiles.userId} = app.user_id()`);

/** Plans are 1..MAX_PLAN_DAYS days long (SQL side of checkRange). */
const inRange = (days: SQL) => sql`${days} between 1 and ${MAX_PLAN_DAYS}::int`;

/** A new plan from the caller's profile starting `startDate`, its tasks, and the profile: one batch. */
export function createPlanStatements(db: Database, planId: string, startDate: string) {
  return [
    db
      .insert(plans)
      .select(
        sql`select ${planId}::uuid, p.user_id, p.id, ${startDate}::date, p.exam_date, (p.exam_date - ${startDate}::date) < ${FULL_SCHEDULE_DAYS}::int, 0, now(), now()
              from exam.exam_profiles p where p.user_id = app.user_id() and ${inRange(sql`p.exam_date - ${startDate}::date`)}`,
      )
      .returning(planColumns),
    // The plan id is new: the plan exists only if the statement above inserted it.
    insertTasks(db, planId, sql`pl.start_date`, sql`true`),
    profileOf(db),
  ] as const;
}

/** Plan `id` rebuilt from `today` with the current profile, keeping DONE tasks; then the plan's visibility and the profile. */
export function replanStatements(db: Database, principal: Principal, id: string, today: string) {
  // Statements 2 and 3 run only if statement 1 rewrote the plan (its row version is this transaction's).
  const rewritten = sql`pl.xmin = pg_current_xact_id()::xid`;
  const mine = and(eq(plans.id, id), eq(plans.userId, principal.userId));
  return [
    db
      .update(plans)
      .set({
        examDate: sql`p.exam_date`,
        compressionFlag: sql`(p.exam_date - ${today}::date) < ${FULL_SCHEDULE_DAYS}::int`,
        updatedAt: sql`now()`,
      })
      .from(sql`exam.exam_profiles p`)
      .where(and(mine, sql`p.id = ${plans.examProfileId}`, inRange(sql`p.exam_date - ${today}::date`)))
      .returning(planColumns),
    db
      .delete(planTasks)
      .where(and(eq(planTasks.planId, id), sql`${planTasks.status} <> 'DONE'`, sql`exists (select 1 from exam.plans pl where pl.id = ${id}::uuid and ${rewritten})`)),
    insertTasks(db, id, sql`${today}::date`, rewritten),
    db.select({ id: plans.id }).from(plans).where(mine),
    profileOf(db),
  ] as const;
}

/** A TODO task moved to `status` (a DONE drill aimed at a mistake emits MISTAKE_DRILL_COMPLETED), then the task as it now is. */
export function moveTaskStatements(db: Database, principal: Principal, planId: string, taskId: string, status: "DONE" | "SKIPPED") {
  const task = and(eq(planTasks.id, taskId), eq(planTasks.planId, planId));
  const update = db
    .update(planTasks)
    .set({ status, updatedAt: sql`now()` })
    .where(and(task, eq(planTasks.status, "TODO")))
    .returning();
  return [
    db.execute<{ id: string }>(sql`
      with moved as (${update.getSQL()}),
      event as (${outboxFrom(sql`moved join exam.mistake_stats m on m.id = moved.ref_id where moved.task_type = 'DRILL' and moved.status = 'DONE'`, {
        eventType: "MISTAKE_DRILL_COMPLETED",
        actorId: principal.userId,
        entityId: sql`moved.id::text`,
        payload: sql`jsonb_build_object('taskId', moved.id, 'planId', moved.plan_id, 'mistakeId', m.id, 'errorCode', m.error_code)`,
      })})
      select id from moved`),
    // Row-level security limits this to the caller's plans.
    db.select().from(planTasks).where(task),
  ] as const;
}
