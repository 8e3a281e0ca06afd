import { z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import type { Database } from "../platform/db";
import { feedbacks, judgmentExecutions, learningSamples } from "./schema";

/**
 * Learning samples (spec 003 §6.2; docs/factory-learning.md). A sample is a judgment input
 * (`input_features`, the judgment's input_data as it was) and what the answer should have been
 * (`label`, §6.2's shape). `label.validated_by_expert` always equals `is_validated`: only the
 * validate route sets either.
 */

/** §6.2 label, as callers give it (validated_by_expert is the server's). */
export const SampleLabelInput = z
  .object({
    result: z.enum(["normal", "warning", "critical"]),
    confidence: z.number().min(0).max(1).optional(),
    explanation: z.string().min(1).max(2000).optional(),
    recommended_actions: z.array(z.string().min(1).max(100)).max(20).optional(),
  })
  .strict()
  .openapi("FactorySampleLabelInput");
export type SampleLabelInput = z.infer<typeof SampleLabelInput>;

/** §6.2 label as stored: explanation is null when neither the feedback nor the judgment gave one. */
export const SampleLabel = z
  .object({
    result: z.enum(["normal", "warning", "critical"]),
    confidence: z.number().min(0).max(1).optional(),
    explanation: z.string().nullable().optional(),
    recommended_actions: z.array(z.string()).optional(),
    validated_by_expert: z.boolean(),
  })
  .openapi("FactorySampleLabel");

/** Human labels: a judgment confirmed or corrected is sure; a partly right one with its correction is half so. */
const FEEDBACK_CONFIDENCE = { correct: 1, incorrect: 1, partial: 0.5 } as const;

/**
 * The sample a feedback makes, in the feedback's own batch (it reads the feedback this
 * transaction just inserted): `correct` on a judgment that decided (not `unknown`) labels it with
 * its own result and action types (§6.2: `["alert", "inspection"]`); `incorrect` or `partial` with a corrected result labels it with the
 * correction. helpful/not_helpful, and incorrect/partial without a correction, say nothing about
 * the right answer and make no sample.
 */
export function sampleFromFeedback(db: Database, feedbackId: string) {
  const f = feedbacks;
  const j = judgmentExecutions;
  return db.execute<{ id: string }>(sql`
    insert into ${learningSamples} (tenant_id, judgment_execution_id, input_features, label, source, quality_score, metadata)
    select f.tenant_id, f.judgment_execution_id, j.input_data,
           jsonb_build_object(
             'result', coalesce(f.corrected_result, j.result),
             'confidence', case f.feedback_type when 'partial' then ${FEEDBACK_CONFIDENCE.partial}::float8 else ${FEEDBACK_CONFIDENCE.correct}::float8 end,
             'explanation', coalesce(f.comment, case when f.corrected_result is null then j.explanation end),
             'recommended_actions', case when f.corrected_result is null
               then coalesce((select jsonb_agg(distinct a ->> 'action_type') from jsonb_array_elements(coalesce(j.recommended_actions, '[]')) a where a ? 'action_type'), '[]')
               else '[]'::jsonb end,
             'validated_by_expert', false),
           'feedback', f.rating / 5.0,
           jsonb_build_object('feedback_id', f.id, 'feedback_type', f.feedback_type, 'judged_result', j.result)
    from ${f} f join ${j} j on j.id = f.judgment_execution_id
    where f.id = ${feedbackId}::uuid and f.xmin = pg_current_xact_id()::xid
      and ((f.feedback_type = 'correct' and j.result <> 'unknown') or (f.feedback_type in ('incorrect', 'partial') and f.corrected_result is not null))
    returning id`);
}

export interface NewSample {
  inputFeatures: Record<string, unknown>;
  label: SampleLabelInput;
  qualityScore: number | null;
  metadata: Record<string, unknown>;
  judgmentExecutionId: string | null;
}

/** The label as stored: the caller's, not yet validated. */
export const storedLabel = (label: SampleLabelInput) => ({ ...label, validated_by_expert: false });

/**
 * Samples by hand or by import, in one statement of at most a batch of rows. A judgment link, when
 * given, must be a judgment the caller sees, else nothing is written (the route says 404).
 */
export function insertSamples(db: Database, source: "manual" | "import", samples: readonly NewSample[]) {
  const rows = JSON.stringify(samples.map((s) => ({ i: s.inputFeatures, l: storedLabel(s.label), q: s.qualityScore, m: s.metadata, j: s.judgmentExecutionId })));
  return db.execute<Record<string, unknown>>(sql`
    insert into ${learningSamples} (tenant_id, judgment_execution_id, input_features, label, source, quality_score, metadata)
    select factory.caller_tenant(), r.j, r.i, r.l, ${source}, r.q, coalesce(r.m, '{}')
    from jsonb_to_recordset(${rows}::jsonb) as r(i jsonb, l jsonb, q float8, m jsonb, j uuid)
    where r.j is null or exists (select 1 from ${judgmentExecutions} je where je.id = r.j)
    returning *`);
}
