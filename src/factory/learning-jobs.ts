import { z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { servicePrincipal } from "../platform/auth";
import type { Bindings } from "../platform/context";
import type { Config } from "../platform/config";
import { backgroundDatabase, runAs, type Database } from "../platform/db";
import type { RelayedEvent } from "../platform/relay";
import type { EventConsumer } from "../platform/system";
import type { LlmCallRecord } from "./llm-client";
import { LlmConfigError, resolveLlmEndpoint } from "./llm-settings";
import { compareVersions, compileVersion, scriptHash } from "./rule-engine";
import { askForRule } from "./rule-llm";
import { compileCandidate, ensembleScript, entryOf, evaluate, holdOut, LABELS, learnTree, treeConditions, treeScript, featureName, type Evaluation, type LabeledSample } from "./rule-learning";
import { autoRuleCandidates, learningSamples, modelTrainingJobs, ruleDeployments, rulesets, ruleScripts, tenants } from "./schema";

/**
 * The rule_learning job (docs/factory-learning.md, "Training jobs"): POST /learning/auto-rules
 * (or /learning/training-jobs) records a pending job and its LEARNING_JOB_CREATED event; this
 * consumer claims it (pending → running), reads the validated samples, the ruleset's active
 * version and the tenant's LLM settings in that same round trip, learns and scores the
 * candidates, then writes them with the job's completion in a second one. The final write is
 * conditional on the job still running, so a cancel wins over a late finish, and a redelivered
 * event finds nothing pending and does nothing.
 */

export const CONSUMER = "factory.rule-learning";
export const LEARNING_JOB_CREATED = "LEARNING_JOB_CREATED";
/** Fewer validated samples than this cannot give a learning part and a held-out part worth scoring. */
export const MIN_SAMPLES = 10;

export const RuleLearningConfig = z
  .object({
    ruleset_id: z.uuid(),
    method: z.enum(["pattern_mining", "llm", "ensemble"]),
    holdout: z.number().min(0.1).max(0.5).default(0.3),
    max_depth: z.int().min(1).max(5).default(3),
    min_leaf: z.int().min(1).max(50).default(2),
    max_samples: z.int().min(MIN_SAMPLES).max(5000).default(2000),
    instructions: z.string().max(2000).optional(),
  })
  .strict();
export type RuleLearningConfig = z.infer<typeof RuleLearningConfig>;

const Payload = z.object({ tenantId: z.uuid(), jobId: z.uuid() });

interface Snapshot {
  config: unknown;
  samples: { id: string; input: Record<string, unknown>; label: unknown }[];
  ruleset: { name: string } | null;
  active: { version: number; script: string } | null;
  settings: unknown;
}

function claimAndRead(db: Database, tenantId: string, jobId: string) {
  return db.execute<{ snapshot: Snapshot }>(sql`
    with claimed as (
      update ${modelTrainingJobs} set status = 'running', started_at = now()
      where id = ${jobId}::uuid and tenant_id = ${tenantId}::uuid and job_type = 'rule_learning' and status = 'pending'
      returning training_config),
    cfg as (select training_config as c from claimed),
    picked as (
      select s.id, s.input_features, s.label from ${learningSamples} s
      where s.tenant_id = ${tenantId}::uuid and s.is_validated and s.label ->> 'result' in ('normal', 'warning', 'critical')
        and exists (select 1 from cfg)
      order by s.created_at desc, s.id
      limit (select coalesce((c ->> 'max_samples')::int, 2000) from cfg))
    select jsonb_build_object(
      'config', (select c from cfg),
      'samples', coalesce((select jsonb_agg(jsonb_build_object('id', id, 'input', input_features, 'label', label ->> 'result')) from picked), '[]'),
      'ruleset', (select jsonb_build_object('name', rs.name) from ${rulesets} rs
                  where rs.id = ((select c from cfg) ->> 'ruleset_id')::uuid and rs.tenant_id = ${tenantId}::uuid),
      'active', (select jsonb_build_object('version', d.version, 'script', s.script)
                 from ${ruleDeployments} d join ${ruleScripts} s on s.ruleset_id = d.ruleset_id and s.version = d.version and s.compile_status = 'compiled'
                 where d.ruleset_id = ((select c from cfg) ->> 'ruleset_id')::uuid and d.tenant_id = ${tenantId}::uuid and d.status = 'active'
                 order by d.deployed_at desc nulls last limit 1),
      'settings', (select t.settings from ${tenants} t where t.id = ${tenantId}::uuid)) as snapshot`);
}

export interface Candidate {
  method: "pattern_mining" | "llm" | "ensemble";
  script: string;
  compileStatus: "compiled" | "failed";
  compileError: string | null;
  evaluation: Evaluation | null;
  conflictWith: string[] | null;
  metadata: Record<string, unknown>;
}

class JobFailure extends Error {}

interface Learned {
  candidates: Candidate[];
  metrics: Record<string, unknown>;
  calls: LlmCallRecord[];
  datasetSize: number;
}

/** Compiles and scores one script on the held-out samples, and compares it with the active version there. */
async function candidateOf(method: Candidate["method"], script: string, test: LabeledSample[], snap: Snapshot, rulesetId: string, extra: Record<string, unknown>): Promise<Candidate> {
  const compiled = compileVersion(script);
  const metadata: Record<string, unknown> = { ...extra, compile_status: compiled.compileStatus, script_hash: await scriptHash(script), test_coverage: compiled.testCoverage };
  if (!compiled.program) {
    return { method, script, compileStatus: "failed", compileError: compiled.compileError, evaluation: null, conflictWith: null, metadata: { ...metadata, compile_error: compiled.compileError } };
  }
  const evaluation = evaluate(compiled.program, test);
  let conflictWith: string[] = [];
  const active = snap.active ? compileCandidate(snap.active.script) : null;
  if (snap.active && active?.ok) {
    const baseline = evaluate(active.program, test);
    metadata.active_version = { version: snap.active.version, coverage: baseline.coverage, precision: baseline.precision, recall: baseline.recall, f1_score: baseline.f1Score };
    const finding = compareVersions(
      { program: compiled.program, label: `the ${method} candidate` },
      { program: active.program, label: `active version ${snap.active.version} of ruleset '${snap.ruleset!.name}'` },
      test.map((s) => s.input as never),
      "versions",
    );
    if (finding) {
      conflictWith = [`${rulesetId}:${snap.active.version}`];
      metadata.conflict = { conflict_type: finding.conflictType, severity: finding.severity, description: finding.description };
    }
  }
  return { method, script, compileStatus: "compiled", compileError: null, evaluation, conflictWith, metadata };
}

async function learn(snap: Snapshot, config: Config, jobId: string): Promise<Learned> {
  const parsed = RuleLearningConfig.safeParse(snap.config);
  if (!parsed.success) throw new JobFailure("training_config is not a rule_learning configuration");
  const cfg = parsed.data;
  if (!snap.ruleset) throw new JobFailure(`ruleset ${cfg.ruleset_id} was not found`);
  const samples: LabeledSample[] = snap.samples.filter((s): s is LabeledSample => (LABELS as readonly unknown[]).includes(s.label));
  const { train, test } = await holdOut(samples, cfg.holdout);
  if (samples.length < MIN_SAMPLES || train.length < 2 || test.length < 1) {
    throw new JobFailure(`too few validated samples: ${samples.length} (at least ${MIN_SAMPLES}, split into ${train.length} to learn from and ${test.length} held out)`);
  }
  const common = { job_id: jobId, training_samples: train.length, held_out_samples: test.length };
  const candidates: Candidate[] = [];
  const calls: LlmCallRecord[] = [];
  let mined: { script: string } | null = null;
  let asked: { script: string } | null = null;
  const problems: string[] = [];

  if (cfg.method !== "llm") {
    const tree = learnTree(train, { maxDepth: cfg.max_depth, minLeaf: cfg.min_leaf });
    if (!tree) problems.push("pattern mining: the samples have no numeric feature common to all of them");
    else {
      mined = { script: treeScript(tree.tree, "mined_rule") };
      candidates.push(await candidateOf("pattern_mining", mined.script, test, snap, cfg.ruleset_id, { ...common, features: tree.features.map(featureName), conditions: treeConditions(tree.tree) }));
    }
  }
  if (cfg.method !== "pattern_mining") {
    let endpoint;
    try {
      endpoint = resolveLlmEndpoint({ tenantSettings: snap.settings, modelConfig: null, config });
    } catch (err) {
      if (!(err instanceof LlmConfigError)) throw err;
      problems.push(`llm: not configured (${err.field}: ${err.reason})`);
    }
    if (endpoint) {
      const answer = await askForRule(endpoint, train, cfg.instructions);
      calls.push(...answer.calls);
      if (!answer.ok) problems.push(`llm: ${answer.error}`);
      else {
        asked = { script: answer.script };
        candidates.push(await candidateOf("llm", answer.script, test, snap, cfg.ruleset_id, { ...common, model: answer.calls.at(-1)?.model ?? endpoint.model }));
      }
    }
  }
  if (cfg.method === "ensemble" && mined && asked) {
    const m = compileCandidate(mined.script);
    const a = compileCandidate(asked.script);
    const mFn = m.ok ? entryOf(m.program) : null;
    const aFn = a.ok ? entryOf(a.program) : null;
    if (mFn && aFn && mFn.name !== aFn.name) {
      candidates.push(await candidateOf("ensemble", ensembleScript(mined.script, mFn, asked.script, aFn), test, snap, cfg.ruleset_id, { ...common, parts: ["pattern_mining", "llm"] }));
    } else problems.push("ensemble: the LLM's rule does not compile (or reuses the mined rule's name), so there is nothing to combine");
  }
  if (!candidates.length) throw new JobFailure(problems.join("; ") || "no candidate could be learned");
  const best = candidates.filter((c) => c.evaluation).sort((x, y) => y.evaluation!.f1Score - x.evaluation!.f1Score)[0];
  return {
    candidates,
    calls,
    datasetSize: samples.length,
    metrics: {
      method: cfg.method,
      samples: samples.length,
      training_samples: train.length,
      held_out_samples: test.length,
      candidates: candidates.length,
      best: best ? { method: best.method, precision: best.evaluation!.precision, recall: best.evaluation!.recall, f1_score: best.evaluation!.f1Score, coverage: best.evaluation!.coverage } : null,
      ...(problems.length ? { problems } : {}),
    },
  };
}

/** Completes the job and writes its candidates, only while it is still running (a cancel wins). */
function complete(db: Database, tenantId: string, jobId: string, rulesetId: string, learned: Learned) {
  const rows = learned.candidates.map((c) => ({
    m: c.method,
    s: c.script,
    cov: c.evaluation?.coverage ?? null,
    p: c.evaluation?.precision ?? null,
    r: c.evaluation?.recall ?? null,
    f: c.evaluation?.f1Score ?? null,
    cw: c.conflictWith,
    tr: c.evaluation?.testResults ?? null,
    md: c.metadata,
  }));
  const done = sql`exists (select 1 from ${modelTrainingJobs} j where j.id = ${jobId}::uuid and j.status = 'completed' and j.xmin = pg_current_xact_id()::xid)`;
  const statements = [
    db.execute(sql`
      update ${modelTrainingJobs} set status = 'completed', metrics = ${JSON.stringify(learned.metrics)}::jsonb, dataset_size = ${learned.datasetSize},
             ended_at = now(), duration_seconds = greatest(0, round(extract(epoch from now() - started_at)))::int
      where id = ${jobId}::uuid and status = 'running'`),
    db.execute(sql`
      insert into ${autoRuleCandidates} (tenant_id, ruleset_id, generated_rule, generation_method, coverage, precision, recall, f1_score, conflict_with, test_results, metadata)
      select ${tenantId}::uuid, ${rulesetId}::uuid, c.s, c.m, c.cov, c.p, c.r, c.f, array(select jsonb_array_elements_text(coalesce(c.cw, '[]'))), c.tr, c.md
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as c(m text, s text, cov float8, p float8, r float8, f float8, cw jsonb, tr jsonb, md jsonb)
      where ${done}`),
  ];
  if (learned.calls.length) {
    statements.push(
      db.execute(sql`
        insert into factory.llm_calls (tenant_id, call_type, model, prompt_summary, prompt_tokens, completion_tokens, total_tokens, cost_estimate_usd, latency_ms, success, validation_error, error_message, response_summary, metadata)
        select ${tenantId}::uuid, 'reasoning', c.model, c.ps, c.pt, c.ct, c.tt, c.cost, c.lat, c.ok, false, c.err, c.rs, c.md
        from jsonb_to_recordset(${JSON.stringify(
          learned.calls.map((c) => ({ model: c.model, ps: c.promptSummary, pt: c.promptTokens, ct: c.completionTokens, tt: c.totalTokens, cost: c.costEstimateUsd, lat: c.latencyMs, ok: c.success, err: c.errorMessage, rs: c.responseSummary, md: { ...c.metadata, purpose: "auto_rule", job_id: jobId } })),
        )}::jsonb) as c(model text, ps text, pt int, ct int, tt int, cost numeric, lat int, ok boolean, err text, rs text, md jsonb)
        where ${done}`),
    );
  }
  return statements;
}

function fail(db: Database, jobId: string, message: string) {
  return db.execute(sql`
    update ${modelTrainingJobs} set status = 'failed', error_message = ${message.slice(0, 2000)}, ended_at = now(),
           duration_seconds = greatest(0, round(extract(epoch from now() - started_at)))::int
    where id = ${jobId}::uuid and status = 'running'`);
}

/** The request id of the consumer's round trips for one event: tests count them by it. */
export const learningRequestId = (eventId: string) => `evt-${eventId}-${CONSUMER}`;

/** Runs one rule_learning job; idempotent (only a pending job is claimed). */
export async function runRuleLearning(event: RelayedEvent, env: Bindings): Promise<void> {
  const payload = Payload.safeParse(event.payload);
  if (!payload.success) return;
  const { tenantId, jobId } = payload.data;
  const { db, config } = backgroundDatabase(env, CONSUMER, learningRequestId(event.eventId));
  const principal = servicePrincipal(CONSUMER);
  const [read] = await runAs(db, principal, [claimAndRead(db, tenantId, jobId)] as const);
  const snap = read.rows[0]!.snapshot;
  if (snap.config === null) return;
  let learned: Learned;
  try {
    learned = await learn(snap, config, jobId);
  } catch (err) {
    if (!(err instanceof JobFailure)) {
      await runAs(db, principal, [fail(db, jobId, "rule learning failed unexpectedly")] as const);
      throw err;
    }
    await runAs(db, principal, [fail(db, jobId, err.message)] as const);
    return;
  }
  const rulesetId = (snap.config as { ruleset_id: string }).ruleset_id;
  await runAs(db, principal, complete(db, tenantId, jobId, rulesetId, learned) as unknown as Parameters<typeof runAs>[2]);
}

export const ruleLearningConsumer: EventConsumer = runRuleLearning;

/** The outbox event that makes the consumer run a job, written only when this transaction created the job. */
export function learningJobEvent(db: Database, jobId: string) {
  return db.execute(sql`
    insert into app.outbox_events (id, system, event_type, actor_id, entity_id, payload)
    select gen_random_uuid(), 'factory', ${LEARNING_JOB_CREATED}, app.user_id()::text, j.id::text, jsonb_build_object('tenantId', j.tenant_id, 'jobId', j.id)
    from ${modelTrainingJobs} j
    where j.id = ${jobId}::uuid and j.job_type = 'rule_learning' and j.xmin = pg_current_xact_id()::xid`);
}
