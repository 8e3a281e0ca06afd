import type { Bindings } from "../src/platform/context";
import { log } from "../src/platform/log";
import type { RelayedEvent } from "../src/platform/relay";
import type { System } from "../src/platform/system";

/**
 * Hands each message to the consumers its system registered for its event type, then acks it, or
 * retries it alone, so one failing message does not redeliver the batch. Retries back off
 * exponentially; after max_retries the queue moves the message to the DLQ. A message of a system
 * this Worker does not serve, or of a type nobody consumes, is acked untouched.
 */
export async function handleQueue(systems: readonly System[], batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
  for (const message of batch.messages) {
    const body = message.body as Partial<RelayedEvent> | null;
    if (!body || typeof body.eventId !== "string" || typeof body.eventType !== "string" || typeof body.system !== "string") {
      log("error", "queue message is not an event envelope; dropped", { queue: batch.queue, messageId: message.id });
      message.ack();
      continue;
    }
    const event = body as RelayedEvent;
    try {
      const handlers = (await systems.find((s) => s.name === event.system)?.load())?.consumers?.[event.eventType] ?? [];
      for (const handler of handlers) await handler(event, env);
      message.ack();
    } catch (err) {
      const delaySeconds = Math.min(3600, 2 ** message.attempts * 5);
      log("warn", "event consumer failed; retrying", { eventId: event.eventId, attempts: message.attempts, delaySeconds, error: String(err) });
      message.retry({ delaySeconds });
    }
  }
}
