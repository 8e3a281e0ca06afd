import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { sql } from "drizzle-orm";
import worker from "../../functions/worker";
import { runAs } from "../../src/platform/db";
import { db, learner } from "./exam-helpers";
import { testEnv } from "./helpers";

export interface Envelope {
  system?: string;
  eventId: string;
  eventType: string;
  occurredAt: string;
  actorId: string;
  entityId: string | null;
  payload: Record<string, unknown>;
}

export function envelope(eventType: string, actorId: string, payload: Record<string, unknown>, extra: Partial<Envelope> = {}): Envelope {
  return { system: "exam", eventId: crypto.randomUUID(), eventType, occurredAt: new Date().toISOString(), actorId, entityId: crypto.randomUUID(), payload, ...extra };
}

/** Runs the Worker's queue export on one batch, as the queue would; returns what it acked and retried. */
export async function deliver(bodies: { body: unknown; id?: string; attempts?: number }[], env: Record<string, unknown> = testEnv, via: Pick<typeof worker, "queue"> = worker) {
  const batch = createMessageBatch(
    "edge-api-events",
    bodies.map((m) => ({ id: m.id ?? crypto.randomUUID(), timestamp: new Date(), attempts: m.attempts ?? 1, body: m.body })),
  );
  const ctx = createExecutionContext();
  await via.queue(batch, env as never);
  const result = await getQueueResult(batch, ctx);
  return { ids: batch.messages.map((m) => m.id), ...result };
}

export async function mistakes(userId: string) {
  const [result] = await runAs(db, learner(userId), [
    db.execute<{ error_code: string; occurrences: number; drills_completed: number; last_seen_at: string | null; last_drilled_at: string | null }>(
      sql`select error_code, occurrences, drills_completed, last_seen_at, last_drilled_at from exam.mistake_stats where user_id = ${userId}::uuid order by error_code`,
    ),
  ] as const);
  return result.rows;
}

export async function ledgerCount(eventId: string): Promise<number> {
  const { rows } = await db.execute<{ n: number }>(sql`select count(*)::int as n from app.consumed_events where event_id = ${eventId}::uuid`);
  return rows[0]!.n;
}

/** Polls until `check` returns a value that is not undefined (queue delivery is asynchronous). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting for the queue consumer");
    await new Promise((r) => setTimeout(r, 100));
  }
}
