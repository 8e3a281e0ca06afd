import { sql } from "drizzle-orm";
import { toPgTimestamp } from "./pg-time";

/**
 * The SQL that runs one claimed scheduled task: it computes the task's report and stores it as a
 * hub.task_runs row in the same statement. Report keys follow the JSONB style of spec 004
 * (snake_case), like the event content they summarize.
 */
export interface ClaimedTask {
  id: string;
  runId: string;
  studentId: string | null;
  taskType: string;
  config: Record<string, unknown>;
  dueAt: string;
}

const positive = (v: unknown, fallback: number, max: number) =>
  typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.min(v, max) : fallback;

/** Graded means content.result is correct or incorrect; accuracy = correct / graded. */
const GRADED = sql.raw(`h.content->>'result' in ('correct', 'incorrect')`);
const CORRECT = sql.raw(`h.content->>'result' = 'correct'`);
const TIME_SPENT = sql.raw(`coalesce(sum((h.content->>'time_spent')::numeric) filter (where jsonb_typeof(h.content->'time_spent') = 'number'), 0)`);

/**
 * daily_report: one student's progress over the config.window_hours (default 24) before the run:
 * events by type, graded attempts and accuracy, time spent, per-concept accuracy, and the state
 * of their open interventions.
 */
function dailyReport(task: ClaimedTask, now: Date) {
  const hours = positive(task.config.window_hours, 24, 24 * 31);
  const from = toPgTimestamp(new Date(now.getTime() - hours * 3600_000));
  const to = toPgTimestamp(now);
  return sql`
    with ev as (
      select h.event_type, h.content from hub.learning_history h
      where h.student_id = ${task.studentId} and h.occurred_at >= ${from}::timestamp and h.occurred_at < ${to}::timestamp
    ), totals as (
      select count(*) as events,
             count(*) filter (where ${GRADED}) as attempts,
             count(*) filter (where ${CORRECT}) as correct,
             ${TIME_SPENT} as time_spent
      from ev h
    ), by_type as (
      select coalesce(jsonb_object_agg(event_type, n), '{}'::jsonb) as j
      from (select event_type, count(*) as n from ev group by 1) t
    ), concepts as (
      select coalesce(jsonb_agg(jsonb_build_object('concept', concept, 'attempts', attempts,
               'accuracy', round(correct::numeric / attempts, 2)) order by concept), '[]'::jsonb) as j
      from (select h.content->>'concept' as concept, count(*) as attempts, count(*) filter (where ${CORRECT}) as correct
            from ev h where jsonb_typeof(h.content->'concept') = 'string' and ${GRADED} group by 1) c
    ), open_interventions as (
      select coalesce(jsonb_agg(jsonb_build_object('id', i.id, 'type', i.type, 'status', i.status, 'progress', i.progress)
               order by i.created_at desc), '[]'::jsonb) as j
      from hub.interventions i where i.student_id = ${task.studentId} and i.status in ('active', 'paused')
    )
    insert into hub.task_runs (id, task_id, student_id, task_type, report, scheduled_for)
    select ${task.runId}::uuid, ${task.id}::uuid, s.id, 'daily_report',
      jsonb_build_object(
        'task_type', 'daily_report',
        'student', jsonb_build_object('id', s.id, 'name', s.name, 'school_id', s.school_id, 'grade', s.grade, 'class_name', s.class_name),
        'period', jsonb_build_object('from', ${from}::text, 'to', ${to}::text),
        'events', totals.events,
        'events_by_type', by_type.j,
        'graded_attempts', totals.attempts,
        'accuracy', case when totals.attempts > 0 then round(totals.correct::numeric / totals.attempts, 2) end,
        'time_spent', totals.time_spent,
        'concepts', concepts.j,
        'open_interventions', open_interventions.j),
      ${task.dueAt}::timestamp
    from hub.students s, totals, by_type, concepts, open_interventions
    where s.id = ${task.studentId}
    returning id`;
}

/**
 * weekly_analytics: per school (config.school_id, else every school) over config.window_days
 * (default 7): students, students active in the window, events, graded attempts and accuracy,
 * time spent, open and completed interventions.
 */
function weeklyAnalytics(task: ClaimedTask, now: Date) {
  const days = positive(task.config.window_days, 7, 366);
  const from = toPgTimestamp(new Date(now.getTime() - days * 86_400_000));
  const to = toPgTimestamp(now);
  const school = typeof task.config.school_id === "string" ? task.config.school_id : null;
  return sql`
    with st as (
      select s.id, s.school_id from hub.students s where ${school}::text is null or s.school_id = ${school}::text
    ), activity as (
      select st.school_id, count(distinct h.student_id) as active_students, count(*) as events,
             count(*) filter (where ${GRADED}) as attempts, count(*) filter (where ${CORRECT}) as correct, ${TIME_SPENT} as time_spent
      from hub.learning_history h join st on st.id = h.student_id
      where h.occurred_at >= ${from}::timestamp and h.occurred_at < ${to}::timestamp
      group by 1
    ), iv as (
      select st.school_id, count(*) filter (where i.status in ('active', 'paused')) as open,
             count(*) filter (where i.status = 'completed' and i.completed_at >= ${from}::timestamp) as completed
      from hub.interventions i join st on st.id = i.student_id
      group by 1
    ), schools as (
      select st.school_id, count(*) as students from st group by 1
    )
    insert into hub.task_runs (id, task_id, student_id, task_type, report, scheduled_for)
    select ${task.runId}::uuid, ${task.id}::uuid, null, 'weekly_analytics',
      jsonb_build_object(
        'task_type', 'weekly_analytics',
        'period', jsonb_build_object('from', ${from}::text, 'to', ${to}::text),
        'scope', coalesce(${school}::text, 'all_schools'),
        'schools', coalesce((
          select jsonb_agg(jsonb_build_object(
            'school_id', schools.school_id, 'students', schools.students,
            'active_students', coalesce(a.active_students, 0), 'events', coalesce(a.events, 0),
            'graded_attempts', coalesce(a.attempts, 0),
            'accuracy', case when a.attempts > 0 then round(a.correct::numeric / a.attempts, 2) end,
            'time_spent', coalesce(a.time_spent, 0),
            'open_interventions', coalesce(iv.open, 0), 'completed_interventions', coalesce(iv.completed, 0)
          ) order by schools.school_id)
          from schools left join activity a using (school_id) left join iv using (school_id)), '[]'::jsonb)),
      ${task.dueAt}::timestamp
    returning id`;
}

export function runTaskStatement(task: ClaimedTask, now: Date) {
  return task.taskType === "weekly_analytics" ? weeklyAnalytics(task, now) : dailyReport(task, now);
}
