import { sql, type SQL } from "drizzle-orm";
import { outboxEvents } from "../platform/outbox";

/** The five exam events of spec 000 §26.1. */
export type ExamEventType = "SESSION_STARTED" | "CELL_EXECUTED" | "STEP_SUBMITTED" | "SESSION_FINAL_SUBMITTED" | "MISTAKE_DRILL_COMPLETED";

export interface EventFrom {
  eventType: ExamEventType;
  actorId: string;
  /** SQL over the source's columns: the event's entity id (text). */
  entityId: SQL;
  /** SQL over the source's columns: the payload (jsonb). */
  payload: SQL;
}

/**
 * outboxInsert's row (same table, same envelope) as INSERT … SELECT: one event per row of
 * `source` (what follows FROM: a data-modifying CTE of the same statement, or tables with a WHERE
 * that only a row this transaction wrote satisfies). The event then exists exactly
 * when the change it reports happened, and can carry values only the database knows (the
 * assigned attempt number, the final score). A plain outboxInsert in the batch would also be
 * written when the conditional change matched nothing.
 */
export function outboxFrom(source: SQL, event: EventFrom): SQL {
  return sql`insert into ${outboxEvents} (id, system, event_type, actor_id, entity_id, payload)
    select gen_random_uuid(), 'exam', ${event.eventType}::text, ${event.actorId}::text, ${event.entityId}, ${event.payload} from ${source}`;
}
