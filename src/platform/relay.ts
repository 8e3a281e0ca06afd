import { and, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { Context } from "hono";
import { loadConfig } from "./config";
import type { AppEnv, Bindings } from "./context";
import { backgroundDatabase, createDatabase, type Database } from "./db";
import { log } from "./log";
import { consumedEvents, outboxEvents, type EventEnvelope } from "./outbox";
import type { ScheduledJob } from "./system";

/**
 * The outbox relay: moves committed events from app.outbox_events to the EVENTS queue.
 *
 * One run = claim (1 round trip) + sendBatch + mark published (1 round trip); a run that finds
 * nothing costs the claim only. A claim is a lease: a relay that dies after sending but before
 * marking leaves the rows claimed until the lease ends, then the next run sends them again. So
 * delivery is at least once and consumers dedupe on eventId (app.consumed_events).
 */

/** Rows per claim: Cloudflare Queues take at most 100 messages per sendBatch. */
export const RELAY_BATCH = 100;
/** How long a claim keeps other relays off the rows; longer than one send ever takes. */
export const RELAY_LEASE_SECONDS = 60;
/** Claims after which a row is left for an operator (e.g. a payload the queue keeps refusing). */
export const RELAY_MAX_ATTEMPTS = 20;
/** sendBatch refuses more than 256 KB per call; chunks of JSON bodies stay under this, leaving room for framing. */
const SEND_BATCH_BYTES = 200 * 1024;
const encoder = new TextEncoder();
/** The cron drains the backlog in rounds; the request hook does one round. */
const CRON_ROUNDS = 10;

// A type, not an interface: scheduled jobs report plain records.
export type RelayReport = {
  requestId: string;
  claimed: number;
  published: number;
  rounds: number;
};

export interface ClaimedEvent {
  id: string;
  system: string;
  eventType: string;
  actorId: string | null;
  entityId: string | null;
  payload: Record<string, unknown>;
  occurredAt: Date;
}

/**
 * Claims up to `limit` unpublished rows whose claim is free or expired, oldest first, in one
 * statement; with `actorId`, only that actor's rows (what a request flushes after itself); with
 * `systems`, only those systems' rows.
 */
export function claimOutbox(
  db: Database,
  limit = RELAY_BATCH,
  leaseSeconds = RELAY_LEASE_SECONDS,
  actorId?: string,
  systems?: readonly string[],
): Promise<ClaimedEvent[]> {
  const claimable = db
    .select({ id: outboxEvents.id })
    .from(outboxEvents)
    .where(
      and(
        isNull(outboxEvents.publishedAt),
        or(isNull(outboxEvents.claimedUntil), lt(outboxEvents.claimedUntil, sql`now()`)),
        lt(outboxEvents.attempts, RELAY_MAX_ATTEMPTS),
        actorId === undefined ? undefined : eq(outboxEvents.actorId, actorId),
        systems === undefined ? undefined : inArray(outboxEvents.system, [...systems]),
      ),
    )
    .orderBy(outboxEvents.occurredAt)
    .limit(limit)
    // Concurrent relays (cron and request hooks) take disjoint rows instead of waiting on each other.
    .for("update", { skipLocked: true });
  return db
    .update(outboxEvents)
    .set({ claimedUntil: sql`now() + make_interval(secs => ${leaseSeconds})`, attempts: sql`${outboxEvents.attempts} + 1` })
    .where(inArray(outboxEvents.id, claimable))
    .returning({
      id: outboxEvents.id,
      system: outboxEvents.system,
      eventType: outboxEvents.eventType,
      actorId: outboxEvents.actorId,
      entityId: outboxEvents.entityId,
      payload: outboxEvents.payload,
      occurredAt: outboxEvents.occurredAt,
    });
}

/**
 * A queue message: the spec 000 §26.2 envelope plus the emitting system, since every system's
 * events share one queue and event type names are only unique within a system.
 */
export type RelayedEvent = EventEnvelope & { system: string };

/** eventId is the outbox row's id: the consumers' dedupe key. */
export function toEnvelope(row: ClaimedEvent): RelayedEvent {
  return {
    system: row.system,
    eventId: row.id,
    eventType: row.eventType,
    occurredAt: row.occurredAt.toISOString(),
    actorId: row.actorId,
    entityId: row.entityId,
    payload: row.payload,
  };
}

/**
 * Sends the rows in occurrence order, in chunks sendBatch accepts; returns the ids sent. When a
 * chunk fails, the ids sent before it are returned with the error so they can still be marked.
 */
export async function sendEvents(queue: Queue, rows: ClaimedEvent[]): Promise<{ sent: string[]; error?: unknown }> {
  const ordered = [...rows].sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime());
  const sent: string[] = [];
  let chunk: RelayedEvent[] = [];
  let bytes = 0;
  const flush = async () => {
    if (!chunk.length) return;
    await queue.sendBatch(chunk.map((body) => ({ body, contentType: "json" as const })));
    sent.push(...chunk.map((e) => e.eventId));
    chunk = [];
    bytes = 0;
  };
  try {
    for (const row of ordered) {
      const envelope = toEnvelope(row);
      const size = encoder.encode(JSON.stringify(envelope)).byteLength;
      if (bytes + size > SEND_BATCH_BYTES) await flush();
      chunk.push(envelope);
      bytes += size;
    }
    await flush();
    return { sent };
  } catch (error) {
    return { sent, error };
  }
}

export function markPublished(db: Database, ids: string[]) {
  return db
    .update(outboxEvents)
    .set({ publishedAt: sql`now()`, claimedUntil: null })
    .where(and(inArray(outboxEvents.id, ids), isNull(outboxEvents.publishedAt)));
}

/** One or more claim → send → mark rounds; `rounds` > 1 drains a backlog (the cron). */
export async function relayOutbox(
  env: Bindings,
  opts: { requestId?: string; rounds?: number; actorId?: string; systems?: readonly string[] } = {},
): Promise<RelayReport> {
  const requestId = opts.requestId ?? `relay-${crypto.randomUUID()}`;
  const report: RelayReport = { requestId, claimed: 0, published: 0, rounds: 0 };
  const queue = env.EVENTS as Queue | undefined;
  if (!queue) {
    log("warn", "outbox relay skipped: no EVENTS queue binding", { requestId });
    return report;
  }
  const db = createDatabase(loadConfig(env), requestId);
  for (let round = 0; round < (opts.rounds ?? 1); round++) {
    const rows = await claimOutbox(db, RELAY_BATCH, RELAY_LEASE_SECONDS, opts.actorId, opts.systems);
    report.rounds++;
    report.claimed += rows.length;
    if (!rows.length) break;
    const { sent, error } = await sendEvents(queue, rows);
    if (sent.length) await markPublished(db, sent);
    report.published += sent.length;
    // Unsent rows stay claimed; the lease ends and a later run sends them.
    if (error) throw Object.assign(new Error(`queue send failed after ${sent.length} of ${rows.length} events: ${String(error)}`), { report });
    if (rows.length < RELAY_BATCH) break;
  }
  return report;
}

/**
 * The EVERY_MINUTE job of a Worker serving `systems`: drains up to CRON_ROUNDS × RELAY_BATCH of
 * their events. Only theirs: the Workers of one database each have their own queue, whose consumer
 * acks any other system's event untouched, so relaying it there would lose it.
 */
export function relayOutboxJob(systems: readonly string[]): ScheduledJob {
  return function relayOutboxJob(env) {
    return relayOutbox(env, { rounds: CRON_ROUNDS, systems });
  };
}

/**
 * For routes that wrote outbox rows: call after the batch committed, e.g.
 * `relayAfterResponse(c)` just before `return c.json(...)`. The relay runs after the response is
 * sent (waitUntil), on its own request id `<requestId>:relay` so it never counts against the
 * request's one round trip; if it fails the cron sends the events within a minute. It flushes only
 * the caller's own events of the route's system: a busy request never inherits everyone else's
 * backlog, and this Worker's queue only gets events its consumers serve.
 */
export function relayAfterResponse(c: Context<AppEnv>): void {
  const requestId = `${c.var.requestId}:relay`;
  const systems = c.var.system ? [c.var.system] : [];
  c.executionCtx.waitUntil(
    relayOutbox(c.env, { requestId, actorId: c.var.principal?.userId, systems }).then(
      () => undefined,
      (err) => log("warn", "outbox relay after request failed; the cron retries", { requestId, error: String(err) }),
    ),
  );
}

/** How long published events and ledger rows are kept: the ledger must outlive any redelivery (queue retention ≤ 14 days). */
const OUTBOX_RETENTION_DAYS = 7;
const LEDGER_RETENTION_DAYS = 30;

/** The DAILY job: forgets published events and old ledger rows, in one statement. */
export async function pruneOutboxJob(env: Bindings): Promise<Record<string, unknown>> {
  const { db, requestId } = backgroundDatabase(env, "job-prune-outbox");
  const { rows } = await db.execute<{ outboxDeleted: number; ledgerDeleted: number }>(sql`
    with events as (
      delete from ${outboxEvents} where published_at < now() - make_interval(days => ${OUTBOX_RETENTION_DAYS}) returning 1),
    ledger as (
      delete from ${consumedEvents} where consumed_at < now() - make_interval(days => ${LEDGER_RETENTION_DAYS}) returning 1)
    select (select count(*) from events)::int as "outboxDeleted", (select count(*) from ledger)::int as "ledgerDeleted"`);
  return { requestId, ...rows[0] };
}
