import { sql } from "drizzle-orm";

/** The knobs of the auto rule (AutoInterventionInput; docs/hub.md, "Auto interventions"). */
export interface AutoRule {
  windowDays: number;
  targetMastery: number;
  minAttempts: number;
  maxAreas: number;
}

/**
 * One INSERT … SELECT that derives the weak areas and the learning path of the auto rule from the
 * student's graded history and stores them as intervention `id`. It inserts nothing when no
 * concept qualifies or the student is not visible to the caller (RLS on hub.students).
 */
export function autoIntervention(id: string, studentId: string, p: AutoRule) {
  return sql`
    with stats as (
      select h.content->>'concept' as concept,
             count(*) as attempts,
             count(*) filter (where h.content->>'result' = 'correct') as correct
      from hub.learning_history h
      where h.student_id = ${studentId}
        and h.occurred_at >= (now() at time zone 'utc') - make_interval(days => ${p.windowDays}::int)
        and h.event_type in ('study', 'test', 'review', 'assessment')
        and jsonb_typeof(h.content->'concept') = 'string'
        and h.content->>'result' in ('correct', 'incorrect')
      group by 1
      having count(*) >= ${p.minAttempts}::int
    ), weak as (
      select concept, attempts, round(correct::numeric / attempts, 2) as mastery,
             row_number() over (order by correct::numeric / attempts, attempts desc, concept)::int as priority
      from stats
      where correct::numeric / attempts < ${p.targetMastery}::numeric
      order by priority
      limit ${p.maxAreas}::int
    )
    insert into hub.interventions (id, student_id, type, weak_areas, learning_path, progress)
    select ${id}::uuid, s.id, 'auto',
      (select jsonb_agg(jsonb_build_object('concept', concept, 'current_mastery', mastery,
         'target_mastery', ${p.targetMastery}::numeric, 'attempts', attempts, 'priority', priority) order by priority) from weak),
      (select jsonb_agg(step order by n) from (
         select priority * 2 - 1 as n, jsonb_build_object('step', priority * 2 - 1, 'activity', 'review_concept',
                'concept', concept, 'estimated_duration', 1800) as step from weak
         union all
         select priority * 2, jsonb_build_object('step', priority * 2, 'activity', 'practice', 'concept', concept,
                'num_problems', 10, 'estimated_duration', 2400) from weak) as steps),
      jsonb_build_object('completed', 0, 'total', 2 * (select count(*) from weak))
    from hub.students s
    where s.id = ${studentId} and exists (select 1 from weak)
    returning id`;
}

