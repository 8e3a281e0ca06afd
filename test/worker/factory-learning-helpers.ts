import { and, eq, sql } from "drizzle-orm";
import { expect } from "vitest";
import { learningSamples } from "../../src/factory/schema";
import { runAs } from "../../src/platform/db";
import { signStandardWebhook as signWebhook } from "../../src/platform/standard-webhooks";
import { eventually } from "./exam-events-helpers";
import { as, db, type FactoryUser } from "./factory-helpers";
import { call, testEnv } from "./helpers";

export const LEARNING = "/api/v1/factory/learning";

/** A seeded PRNG (mulberry32): the generated data set is the same on every run. */
export function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A CSV data set with a known rule: defect_rate > 0.07 is critical, else normal. Besides the
 * deciding feature, two that say nothing (oee, production_qty) and a context target.
 */
export function thresholdDataSet(n: number, seed = 7): string {
  const rand = prng(seed);
  const lines = ["metrics.defect_rate,metrics.oee,metrics.production_qty,context.target_defect_rate,result"];
  for (let i = 0; i < n; i++) {
    const defect = Math.round(rand() * 14_000) / 100_000;
    const oee = Math.round((0.6 + rand() * 0.35) * 1000) / 1000;
    const qty = 1000 + Math.floor(rand() * 1000);
    lines.push(`${defect},${oee},${qty},0.05,${defect > 0.07 ? "critical" : "normal"}`);
  }
  return lines.join("\n") + "\n";
}

export const importCsv = (user: FactoryUser, csv: string, onError = "reject") =>
  call("POST", `${LEARNING}/samples/import?format=csv&onError=${onError}`, { token: user.bearer, rawBody: csv, headers: { "Content-Type": "text/csv" } });

export const importJsonl = (user: FactoryUser, text: string, onError = "reject") =>
  call("POST", `${LEARNING}/samples/import?format=jsonl&onError=${onError}`, { token: user.bearer, rawBody: text, headers: { "Content-Type": "application/x-ndjson" } });

/** Marks every imported sample of the tenant validated, test-side as its admin (the validate route has its own tests). */
export async function validateAllImported(admin: FactoryUser) {
  await runAs(db, as(admin.tenantId, admin.userId), [
    db
      .update(learningSamples)
      .set({ isValidated: true, validatedBy: admin.userId, validatedAt: new Date(), label: sql`${learningSamples.label} || '{"validated_by_expert": true}'` })
      .where(and(eq(learningSamples.tenantId, admin.tenantId), eq(learningSamples.source, "import"))),
  ] as const);
}

export interface Job {
  id: string;
  status: string;
  jobType: string;
  metrics: Record<string, any> | null;
  errorMessage: string | null;
  startedAt: string | null;
  endedAt: string | null;
  durationSeconds: number | null;
  modelArtifactUrl: string | null;
  datasetSize: number | null;
}

/** Polls a job until it is no longer pending or running (the queue consumer ran it). */
export async function finished(user: FactoryUser, jobId: string): Promise<Job> {
  return eventually(async () => {
    const res = await call("GET", `${LEARNING}/training-jobs/${jobId}`, { token: user.bearer });
    expect(res.status).toBe(200);
    return res.body.status === "pending" || res.body.status === "running" ? undefined : (res.body as Job);
  });
}

export async function candidatesOf(user: FactoryUser, jobId: string) {
  const res = await call("GET", `${LEARNING}/auto-rules?jobId=${jobId}`, { token: user.bearer });
  expect(res.status).toBe(200);
  return res.body.items as Record<string, any>[];
}

/** A Standard Webhooks call of the external training system, signed with the configured secret unless told otherwise. */
export async function trainingCallback(
  body: Record<string, unknown>,
  options: { id?: string; timestamp?: number; secret?: string; signature?: string; omit?: string[] } = {},
) {
  const id = options.id ?? `msg_${crypto.randomUUID()}`;
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const raw = JSON.stringify(body);
  const signature = options.signature ?? (await signWebhook(options.secret ?? testEnv.FACTORY_TRAINING_WEBHOOK_SECRET!, id, timestamp, raw));
  const headers: Record<string, string> = { "Content-Type": "application/json", "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signature };
  for (const name of options.omit ?? []) delete headers[name];
  return call("POST", `${LEARNING}/training-jobs/callback`, { rawBody: raw, headers });
}
