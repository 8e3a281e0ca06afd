import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "../platform/db";
import type { Classification } from "./chat-intents";
import { DEFAULT_PERIOD, periodSql, tenantZone } from "./chat-dates";
import type { Reply } from "./chat-replies";
import type { LlmCallRecord } from "./llm-client";
import { chatMessages, chatSessions, intentLogs, llmCalls } from "./schema";

/**
 * One chat turn written in one statement: the session's counters and context, the intent log
 * (date_range resolved in the tenant's time zone), the user's message and the assistant's,
 * whose text and data the statement computes (chat-replies.ts). Nothing is written unless the
 * session is the caller's and active.
 */
export interface Turn {
  sessionId: string;
  userId: string;
  content: string;
  classification: Classification;
  reply: Reply;
  /** assistant metadata besides action, data and period */
  metadata: Record<string, unknown>;
  ids: { intent: string; user: string; assistant: string };
}

export function turnStatements(db: Database, turn: Turn, llm: { calls: LlmCallRecord[]; traceId: string } | null) {
  const { classification: c, reply, ids } = turn;
  const { date_range: said, ...slots } = c.slots;
  const period = periodSql(said ?? DEFAULT_PERIOD, sql`today.d`);
  const resolvedRange = sql`jsonb_build_object('start', to_char(p.start_d, 'YYYY-MM-DD'), 'end', to_char(p.end_d, 'YYYY-MM-DD'))`;
  const slotsJson = sql`(${JSON.stringify(slots)}::jsonb || ${said ? sql`jsonb_build_object('date_range', ${resolvedRange})` : sql`'{}'::jsonb`})`;
  const action = { type: reply.action, ...(turn.metadata.action as Record<string, unknown> | undefined) };
  const metadata = { ...turn.metadata, action, intent_log_id: ids.intent, classified_by: c.by, lang: c.lang };
  const write = db.execute(sql`
    with zone as (${tenantZone}),
    today as (select (now() at time zone zone.tz)::date as d, zone.tz from zone),
    p as (select x.start_d, x.end_d, x.tz, (x.start_d::timestamp at time zone x.tz) as start_ts, ((x.end_d + 1)::timestamp at time zone x.tz) as end_ts
          from (select ${period.start} as start_d, ${period.end} as end_d, today.tz from today) x),
    d as (select ${reply.data} as data from p),
    r as (select ${reply.reply} as reply from p, d),
    sess as (
      update factory.chat_sessions
      set message_count = message_count + 2, last_message_at = now() + interval '1 microsecond',
          context = context || jsonb_build_object('last_intent', ${c.intent}::text, 'last_slots', (select ${slotsJson} from p))
      where id = ${turn.sessionId}::uuid and user_id = ${turn.userId}::uuid and status = 'active'
      returning id, tenant_id),
    i as (
      insert into factory.intent_logs (id, tenant_id, user_id, user_query, predicted_intent, confidence, extracted_slots)
      select ${ids.intent}::uuid, sess.tenant_id, ${turn.userId}::uuid, ${turn.content}, ${c.intent}, ${c.confidence}::float8, ${slotsJson} from sess, p
      returning id),
    u as (
      insert into factory.chat_messages (id, session_id, role, content, intent_log_id, metadata, created_at)
      select ${ids.user}::uuid, sess.id, 'user', ${turn.content}, i.id, ${JSON.stringify({ lang: c.lang })}::jsonb, now() from sess, i
      returning id)
    insert into factory.chat_messages (id, session_id, role, content, intent_log_id, metadata, created_at)
    select ${ids.assistant}::uuid, sess.id, 'assistant', r.reply, i.id,
      ${JSON.stringify(metadata)}::jsonb || jsonb_build_object('data', d.data, 'period', jsonb_build_object('start', to_char(p.start_d, 'YYYY-MM-DD'), 'end', to_char(p.end_d, 'YYYY-MM-DD'), 'time_zone', p.tz)),
      now() + interval '1 microsecond'
    from sess, i, u, d, r, p`);
  const reads = [
    db.select().from(chatSessions).where(and(eq(chatSessions.id, turn.sessionId), eq(chatSessions.userId, turn.userId))),
    db.select().from(chatMessages).where(inArray(chatMessages.id, [ids.user, ids.assistant])).orderBy(asc(chatMessages.createdAt)),
    db.select().from(intentLogs).where(eq(intentLogs.id, ids.intent)),
  ] as const;
  if (!llm?.calls.length) return [write, ...reads] as const;
  // The LLM was paid for whatever became of the turn: its calls are recorded either way.
  const calls = db.insert(llmCalls).values(
    llm.calls.map((call) => ({
      ...call,
      costEstimateUsd: call.costEstimateUsd === null ? null : call.costEstimateUsd.toFixed(6),
      tenantId: sql`factory.caller_tenant()`,
      callType: "chat" as const,
      traceId: llm.traceId,
      metadata: { ...call.metadata, intent_log_id: ids.intent, chat_session_id: turn.sessionId },
    })),
  );
  return [write, ...reads, calls] as const;
}
