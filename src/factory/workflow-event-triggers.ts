import { z } from "@hono/zod-openapi";
import { servicePrincipal } from "../platform/auth";
import type { Bindings } from "../platform/context";
import { backgroundDatabase, runAs } from "../platform/db";
import { log } from "../platform/log";
import { ApiError } from "../platform/problem";
import type { RelayedEvent } from "../platform/relay";
import { DEPTH_KEY, MAX_EVENT_DEPTH } from "./workflow-events";
import { startInstance } from "./workflow-start";
import { EventFilter, eventMatches, TRIGGER_EVENTS } from "./workflow-trigger-config";
import { eventListeners } from "./workflow-trigger-sql";

/**
 * The event trigger (docs/factory-workflows.md, "Triggers"): a factory event from the queue starts
 * every active, enabled event-triggered workflow of its tenant whose event_filter matches. The
 * instance id is keyed by the workflow and the event id, so a redelivered event starts nothing
 * twice. One round trip reads the listeners; each start is startInstance's.
 */

/** The consumer's service identity (role `service`, which tokens can never carry). */
const CONSUMER_PRINCIPAL = servicePrincipal("a9e47000-0000-4000-8000-00000000f315");

const Payload = z.object({
  tenantId: z.uuid(),
  depth: z.int().min(0),
  data: z.record(z.string(), z.unknown()),
});

/** The event's data fields the workflow declares as input variables: the instance's input (the rest would be refused as undeclared). */
const inputFor = (data: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.filter((k) => Object.hasOwn(data, k)).map((k) => [k, data[k]]));

export async function startEventWorkflows(event: RelayedEvent, env: Bindings): Promise<void> {
  const payload = Payload.safeParse(event.payload);
  if (!payload.success) {
    log("error", "factory event without tenant, depth and data; no workflow started", { eventId: event.eventId, eventType: event.eventType });
    return;
  }
  const { tenantId, depth, data } = payload.data;
  if (depth >= MAX_EVENT_DEPTH) {
    log("info", "event trigger loop guard: the event's cause is already event-started too deep; no workflow started", { eventId: event.eventId, eventType: event.eventType, depth });
    return;
  }
  const { db } = backgroundDatabase(env, "factory-event-triggers", `evt-${event.eventId}`);
  const [listeners] = await runAs(db, CONSUMER_PRINCIPAL, [eventListeners(db, tenantId, event.eventType)] as const);
  let failure: unknown = null;
  for (const listener of listeners.rows) {
    const filter = EventFilter.safeParse(listener.event_filter);
    if (!filter.success || !eventMatches(filter.data, { event: event.eventType, data })) continue;
    try {
      await startInstance(env, {
        tenantId,
        workflowId: listener.id,
        input: inputFor(data, listener.input_keys),
        triggerType: "event",
        triggeredBy: null,
        metadata: { [DEPTH_KEY]: depth + 1, trigger: { event: event.eventType, event_id: event.eventId, entity_id: event.entityId } },
        idempotencyKey: `event:${event.eventId}`,
      });
    } catch (err) {
      // A refusal (input that does not fit) will not change on redelivery: logged, not retried.
      if (err instanceof ApiError && err.status < 500) {
        log("warn", "event-triggered workflow not started", { eventId: event.eventId, workflowId: listener.id, code: err.code, detail: err.message });
      } else failure ??= err;
    }
  }
  // The queue redelivers the event; the workflows it started already are not started twice.
  if (failure) throw failure;
}

/** The consumer of every factory event a trigger can listen for (parts.ts). */
export const EVENT_TRIGGER_CONSUMERS = Object.fromEntries(TRIGGER_EVENTS.map((e) => [e, [startEventWorkflows]]));
