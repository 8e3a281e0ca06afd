import { z } from "@hono/zod-openapi";
import { sql, type SQL } from "drizzle-orm";
import type { Principal } from "../platform/auth";
import type { Bindings } from "../platform/context";
import { backgroundDatabase, runAs } from "../platform/db";
import type { EventConsumer } from "../platform/system";

/**
 * The exam consumers of spec 000 §26.3 (docs/exam-events.md). Each message costs each consumer
 * one Postgres round trip: one runAs batch whose single statement records (consumer, eventId) in
 * app.consumed_events and applies the effect only if that insert happened. Ledger row and effect
 * commit or roll back together, so a redelivered or duplicated event has exactly one effect, and
 * a failed one leaves nothing behind for the retry to trip over.
 *
 * Service identity: a consumer runs as the event's actor (app.user_id = actorId, no roles), so
 * the row-level security policies that scope the learner's own requests scope the consumer's
 * reads and writes to that same learner.
 */

export const EXAM_EVENT_TYPES = ["SESSION_STARTED", "CELL_EXECUTED", "STEP_SUBMITTED", "SESSION_FINAL_SUBMITTED", "MISTAKE_DRILL_COMPLETED"] as const;

const Envelope = z.object({
  system: z.string().optional(),
  eventId: z.uuid(),
  eventType: z.enum(EXAM_EVENT_TYPES),
  occurredAt: z.iso.datetime({ offset: true }),
  actorId: z.uuid(),
  entityId: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
});
type Envelope = z.infer<typeof Envelope>;

const ErrorCodes = z.array(z.string().min(1).max(100)).max(100);
const StepSubmitted = z.looseObject({ errorCodes: ErrorCodes.default([]) });
const DrillCompleted = z.looseObject({ errorCode: z.string().min(1).max(100) });

/** The operational figures the Analytics Sink keeps; absent or mistyped fields are just missing. */
const Metrics = z.looseObject({
  mode: z.string().max(40).optional().catch(undefined),
  level: z.string().max(40).optional().catch(undefined),
  result: z.string().max(40).optional().catch(undefined),
  score: z.number().int().optional().catch(undefined),
  finalScore: z.number().int().optional().catch(undefined),
  runtimeMs: z.number().int().min(0).optional().catch(undefined),
  errorCodes: z.array(z.unknown()).optional().catch(undefined),
});

interface Consumer {
  name: string;
  eventTypes: readonly Envelope["eventType"][];
  /** The one statement of the consumer's batch; `fresh` is the ledger CTE to gate the effect on. */
  apply: (event: Envelope, fresh: SQL, env: Bindings) => SQL;
  /** Work outside Postgres after the batch committed, given the statement's rows. */
  after?: (event: Envelope, rows: Record<string, unknown>[], env: Bindings) => void;
}

/** The request id a consumer's round trip carries: lets tests and logs count it per event and consumer. */
export function consumerRequestId(consumer: string, eventId: string): string {
  return `evt-${eventId}-${consumer}`;
}

function ledger(consumer: string, eventId: string): SQL {
  return sql`fresh as (
    insert into app.consumed_events (consumer, event_id) values (${consumer}, ${eventId}::uuid)
    on conflict do nothing returning 1)`;
}

/**
 * ReadyIndex Worker: readiness 0–100 of the learner's latest plan, recomputed from current state.
 * practice = mean of (PASS 100 / PARTIAL 50 / FAIL 0) and of the score (clamped 0–100) over the
 * last 50 step submissions; mock = mean final score of the last 3 MOCK sessions with one;
 * completion = DONE share of the plan's tasks dated today or earlier. Index = weighted mean
 * 0.3 practice + 0.4 mock + 0.3 completion over the parts that exist (weights renormalised), 0 if none.
 */
const readyIndex: Consumer = {
  name: "exam.ready-index",
  eventTypes: ["STEP_SUBMITTED", "SESSION_FINAL_SUBMITTED", "MISTAKE_DRILL_COMPLETED"],
  apply: (e, fresh) => sql`
    with ${fresh},
    plan as (select id from exam.plans where user_id = ${e.actorId}::uuid order by created_at desc, id desc limit 1),
    recent as (
      select ss.result, ss.score from exam.step_submissions ss join exam.sessions s on s.id = ss.session_id
      where s.user_id = ${e.actorId}::uuid order by ss.created_at desc limit 50),
    mocks as (
      select final_score from exam.sessions
      where user_id = ${e.actorId}::uuid and mode = 'MOCK' and final_score is not null
      order by ended_at desc nulls last limit 3),
    parts as (
      select
        (select (avg(case r.result when 'PASS' then 100 when 'PARTIAL' then 50 else 0 end)
                 + avg(least(greatest(r.score, 0), 100))) / 2 from recent r) as practice,
        (select avg(least(greatest(m.final_score, 0), 100)) from mocks m) as mock,
        (select 100.0 * count(*) filter (where t.status = 'DONE') / nullif(count(*), 0)
         from exam.plan_tasks t where t.plan_id = (select id from plan) and t.task_date <= current_date) as completion)
    update exam.plans p
    set ready_index_snapshot = (
          select coalesce(round(
            (coalesce(0.3 * practice, 0) + coalesce(0.4 * mock, 0) + coalesce(0.3 * completion, 0))
            / nullif((case when practice is null then 0 else 0.3 end)
                   + (case when mock is null then 0 else 0.4 end)
                   + (case when completion is null then 0 else 0.3 end), 0)), 0)::int
          from parts),
        updated_at = now()
    where p.id = (select id from plan) and exists (select 1 from fresh)
    returning p.id, p.ready_index_snapshot`,
};

/**
 * Mistake Aggregator: STEP_SUBMITTED counts each distinct error code of the submission once per
 * (user, code) and moves last_seen_at forward; MISTAKE_DRILL_COMPLETED counts a drill.
 */
const mistakeAggregator: Consumer = {
  name: "exam.mistake-aggregator",
  eventTypes: ["STEP_SUBMITTED", "MISTAKE_DRILL_COMPLETED"],
  apply: (e, fresh) => {
    if (e.eventType === "MISTAKE_DRILL_COMPLETED") {
      const { errorCode } = DrillCompleted.parse(e.payload);
      return sql`
        with ${fresh}
        insert into exam.mistake_stats as m (id, user_id, error_code, drills_completed, last_drilled_at)
        select ${crypto.randomUUID()}::uuid, ${e.actorId}::uuid, ${errorCode}, 1, ${e.occurredAt}::timestamptz
        where exists (select 1 from fresh)
        on conflict (user_id, error_code) do update
          set drills_completed = m.drills_completed + 1,
              last_drilled_at = greatest(m.last_drilled_at, excluded.last_drilled_at),
              updated_at = now()`;
    }
    const { errorCodes } = StepSubmitted.parse(e.payload);
    // jsonb, not an array parameter: drizzle expands a JS array into a list of parameters.
    return sql`
      with ${fresh}
      insert into exam.mistake_stats as m (id, user_id, error_code, occurrences, last_seen_at)
      select gen_random_uuid(), ${e.actorId}::uuid, code, 1, ${e.occurredAt}::timestamptz
      from (select distinct jsonb_array_elements_text(${JSON.stringify(errorCodes)}::jsonb) as code) as codes
      where exists (select 1 from fresh)
      on conflict (user_id, error_code) do update
        set occurrences = m.occurrences + 1,
            last_seen_at = greatest(m.last_seen_at, excluded.last_seen_at),
            updated_at = now()`;
  },
};

function metricsOf(e: Envelope) {
  const m = Metrics.parse(e.payload);
  return {
    mode: m.mode ?? null,
    level: m.level ?? null,
    result: m.result ?? null,
    score: m.score ?? m.finalScore ?? null,
    runtimeMs: m.runtimeMs ?? null,
    errorCount: m.errorCodes?.length ?? null,
  };
}

/**
 * Analytics Sink: one data point per event. With an Analytics Engine binding (ANALYTICS) the
 * statement is the ledger insert alone and the point is written after it committed: at most once
 * there (a crash in between loses a point rather than counting one twice); else the point is a
 * row of exam.event_metrics written in the same statement as the ledger row.
 */
const analyticsSink: Consumer = {
  name: "exam.analytics-sink",
  eventTypes: EXAM_EVENT_TYPES,
  apply: (e, fresh, env) => {
    if (analyticsDataset(env)) return sql`with ${fresh} select 1 as fresh from fresh`;
    const m = metricsOf(e);
    return sql`
      with ${fresh}
      insert into exam.event_metrics (event_id, event_type, user_id, entity_id, occurred_at, mode, level, result, score, runtime_ms, error_count)
      select ${e.eventId}::uuid, ${e.eventType}, ${e.actorId}::uuid, ${e.entityId}, ${e.occurredAt}::timestamptz,
             ${m.mode}, ${m.level}, ${m.result}, ${m.score}::int, ${m.runtimeMs}::int, ${m.errorCount}::int
      where exists (select 1 from fresh)`;
  },
  after: (e, rows, env) => {
    const dataset = analyticsDataset(env);
    if (!dataset || !rows.length) return;
    const m = metricsOf(e);
    dataset.writeDataPoint({
      indexes: [e.eventType],
      blobs: [e.eventType, e.actorId, m.mode, m.level, m.result],
      doubles: [m.score ?? Number.NaN, m.runtimeMs ?? Number.NaN, m.errorCount ?? Number.NaN],
    });
  },
};

/** The Workers Analytics Engine dataset, when wrangler.toml binds one as ANALYTICS. */
export function analyticsDataset(env: Bindings): AnalyticsEngineDataset | undefined {
  const binding = env.ANALYTICS as AnalyticsEngineDataset | undefined;
  return binding && typeof binding.writeDataPoint === "function" ? binding : undefined;
}

export const EXAM_CONSUMERS: readonly Consumer[] = [readyIndex, mistakeAggregator, analyticsSink];

function handlerFor(consumer: Consumer): EventConsumer {
  return async (body, env) => {
    // A malformed envelope throws: retried, then parked in the dead-letter queue for inspection.
    const event = Envelope.parse(body);
    const { db } = backgroundDatabase(env, consumer.name, consumerRequestId(consumer.name, event.eventId));
    const actor: Principal = { userId: event.actorId, tenantId: null, roles: [], permissions: [] };
    const [result] = await runAs(db, actor, [db.execute(consumer.apply(event, ledger(consumer.name, event.eventId), env))] as const);
    consumer.after?.(event, result.rows as Record<string, unknown>[], env);
  };
}

/** Handlers by event type: the exam system's `consumers` (only exam events reach them). */
export const examConsumers: Record<string, EventConsumer[]> = {};
for (const consumer of EXAM_CONSUMERS) {
  for (const type of consumer.eventTypes) (examConsumers[type] ??= []).push(handlerFor(consumer));
}
