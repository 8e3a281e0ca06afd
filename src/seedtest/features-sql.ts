import { sql } from "drizzle-orm";
import type { Database } from "../platform/db";

/** Marks the rows the daily job owns, so a recompute may remove them and never touches API-written ones. */
const FEATURES_SOURCE = "hub.learning_history";

/**
 * One statement that recomputes seedtest.features_topic_daily from hub.learning_history for the
 * UTC days [from, until): every (user, topic, day) is computed from all its events and upserted
 * (a row whose features did not change is left as it was), and job-owned rows of those days whose
 * events are gone are removed.
 *
 * Mapping (hub content → features): topic = content.topic_id, else content.concept (events with
 * neither are skipped); attempts = events with a `result`; correct = result "correct";
 * accuracy = correct / attempts (4 decimals, null without attempts); time_spent = sum of the
 * numeric content.time_spent (seconds); events = all events of the group. user_id = the
 * student's account (students.user_id, the JWT sub) or, before it has one, the student id.
 */
export function recomputeFeatures(db: Database, from: string, until: string) {
  return db.execute<{ groups: number; inserted: number; updated: number; removed: number }>(sql`
    with grouped as (
      select coalesce(s.user_id, s.id)::text as user_id,
             coalesce(lh.content->>'topic_id', lh.content->>'concept') as topic_id,
             lh.occurred_at::date as date,
             count(*) as events,
             count(*) filter (where lh.content ? 'result') as attempts,
             count(*) filter (where lh.content->>'result' = 'correct') as correct,
             coalesce(sum(case when jsonb_typeof(lh.content->'time_spent') = 'number'
                               then (lh.content->>'time_spent')::numeric end), 0) as time_spent
      from hub.learning_history lh
      join hub.students s on s.id = lh.student_id
      -- occurred_at is UTC without a time zone (spec 004 §1.1): whole UTC days.
      where lh.occurred_at >= ${from}::timestamp and lh.occurred_at < ${until}::timestamp
        and coalesce(lh.content->>'topic_id', lh.content->>'concept') is not null
      group by 1, 2, 3
    ), computed as (
      select user_id, topic_id, date,
             jsonb_build_object(
               'accuracy', case when attempts > 0 then round(correct::numeric / attempts, 4) end,
               'attempts', attempts, 'correct', correct, 'time_spent', time_spent, 'events', events,
               'source', ${FEATURES_SOURCE}::text) as features
      from grouped
    ), upserted as (
      insert into seedtest.features_topic_daily as f (user_id, topic_id, date, features)
      select user_id, topic_id, date, features from computed
      on conflict (user_id, topic_id, date) do update
        set features = excluded.features, updated_at = now()
        where f.features is distinct from excluded.features
      returning (xmax = 0) as inserted
    ), removed as (
      delete from seedtest.features_topic_daily f
      where f.date >= ${from}::date and f.date < ${until}::date
        and f.features->>'source' = ${FEATURES_SOURCE}::text
        and not exists (select 1 from computed c where c.user_id = f.user_id and c.topic_id = f.topic_id and c.date = f.date)
      returning 1
    )
    select (select count(*)::int from computed) as groups,
           (select count(*)::int from upserted where inserted) as inserted,
           (select count(*)::int from upserted where not inserted) as updated,
           (select count(*)::int from removed) as removed`);
}
