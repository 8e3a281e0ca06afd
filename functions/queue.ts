import { examConsumers } from "../src/exam/consumers";
import type { Bindings } from "../src/platform/context";
import { log } from "../src/platform/log";

/** A consumer of one event type; it must be idempotent (queues deliver at least once). */
export type EventConsumer = (body: { eventId: string; eventType: string }, env: Bindings) => Promise<void>;

/** Consumers by event type; each system registers its own here. */
export const consumers: Record<string, EventConsumer[]> = {};
for (const [type, handlers] of Object.entries(examConsumers)) (consumers[type] ??= []).push(...handlers);

/**
 * Acks or retries each message on its own, so one failing message does not redeliver the batch.
 * Retries back off exponentially; after max_retries the queue moves the message to the DLQ.
 */
export async function handleQueue(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
  for (const message of batch.messages) {
    const body = message.body as { eventId?: unknown; eventType?: unknown } | null;
    if (!body || typeof body.eventId !== "string" || typeof body.eventType !== "string") {
      log("error", "queue message is not an event envelope; dropped", { queue: batch.queue, messageId: message.id });
      message.ack();
      continue;
    }
    const handlers = consumers[body.eventType] ?? [];
    try {
      for (const handler of handlers) await handler(body as { eventId: string; eventType: string }, env);
      message.ack();
    } catch (err) {
      const delaySeconds = Math.min(3600, 2 ** message.attempts * 5);
      log("warn", "event consumer failed; retrying", { eventId: body.eventId, attempts: message.attempts, delaySeconds, error: String(err) });
      message.retry({ delaySeconds });
    }
  }
}
