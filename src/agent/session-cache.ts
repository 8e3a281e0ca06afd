import type { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../platform/config";
import { orFallback } from "../platform/redis";

/** §8.1: key `session:{id}`, a hash, TTL 24 hours. */
export const sessionCacheKey = (sessionId: string) => `session:${sessionId}`;
const TTL_SEC = 24 * 60 * 60;

/** What GET /sessions/{id} answers, from the hash or from Postgres alike. */
export interface SessionState {
  id: string;
  userId: string;
  status: string;
  language: string | null;
  currentContext: Record<string, unknown>;
  createdAt: string;
}

interface SessionRow {
  id: string;
  userId: string | null;
  status: string;
  language: string | null;
  currentContext: Record<string, unknown> | null;
  createdAt: Date | null;
}

export function stateOf(row: SessionRow): SessionState {
  return {
    id: row.id,
    userId: row.userId ?? "",
    status: row.status,
    language: row.language,
    currentContext: row.currentContext ?? {},
    createdAt: (row.createdAt ?? new Date(0)).toISOString(),
  };
}

/**
 * Writes the hash with exactly the five fields of §8.1 (current_context as a JSON string) and its
 * TTL, in one MULTI: one Redis round trip, and never a hash without expiry. A null language is an
 * empty field.
 */
export function writeSession(redis: Redis, config: Config, state: SessionState) {
  const key = sessionCacheKey(state.id);
  const fields = {
    user_id: state.userId,
    status: state.status,
    language: state.language ?? "",
    current_context: JSON.stringify(state.currentContext),
    created_at: state.createdAt,
  };
  return orFallback(config, "agent.session.write", () => redis.multi().del(key).hset(key, fields).expire(key, TTL_SEC).exec(), null);
}

export function forgetSessions(redis: Redis, config: Config, sessionIds: string[]) {
  return sessionIds.length ? orFallback(config, "agent.session.forget", () => redis.del(...sessionIds.map(sessionCacheKey)), 0) : Promise.resolve(0);
}

/**
 * The cached session, or null (no entry, an incomplete one, or Redis down). The client parses
 * values that look like JSON, so each field is taken back to the type the hash stores.
 */
export async function readSession(redis: Redis, config: Config, sessionId: string): Promise<SessionState | null> {
  const hash = await orFallback(config, "agent.session.read", () => redis.hgetall<Record<string, unknown>>(sessionCacheKey(sessionId)), null);
  if (!hash || typeof hash.user_id !== "string" || typeof hash.status !== "string" || typeof hash.created_at !== "string") return null;
  const context = typeof hash.current_context === "string" ? safeParse(hash.current_context) : hash.current_context;
  if (!context || typeof context !== "object" || Array.isArray(context)) return null;
  const language = hash.language === undefined || hash.language === "" ? null : String(hash.language);
  return { id: sessionId, userId: hash.user_id, status: hash.status, language, currentContext: context as Record<string, unknown>, createdAt: hash.created_at };
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
