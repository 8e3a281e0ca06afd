import { and, eq, sql } from "drizzle-orm";
import { expect } from "vitest";
import { outboxEvents } from "../../src/platform/outbox";
import { loadConfig } from "../../src/platform/config";
import { createDatabase } from "../../src/platform/db";
import { call, roundTrips, testEnv, token } from "./helpers";

/** The API's own role (as in exam-profile-rls.test.ts): reads app.outbox_events, which has no RLS. */
export const db = createDatabase(loadConfig(testEnv), "exam-test");

export interface Caller {
  sub: string;
  bearer: string;
}

export async function caller(roles: string[] = []): Promise<Caller> {
  const sub = crypto.randomUUID();
  return { sub, bearer: await token({ sub, roles }) };
}

export const LAB = { level: "ASSOCIATE", engineType: "JUPYTER", mode: "PRACTICE" } as const;

/** A new session of `who` in CREATED; `over` changes the input. */
export async function newSession(who: Caller, over: Record<string, unknown> = {}) {
  const res = await call("POST", "/api/v1/exam/sessions", {
    token: who.bearer,
    body: { labId: crypto.randomUUID(), policyId: crypto.randomUUID(), ...LAB, ...over },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; status: string; mode: string };
}

export async function move(who: Caller, id: string, name: string) {
  return call("POST", `/api/v1/exam/sessions/${id}/${name}`, { token: who.bearer });
}

/** A RUNNING session of `who`. */
export async function runningSession(who: Caller, over: Record<string, unknown> = {}) {
  const session = await newSession(who, over);
  expect((await move(who, session.id, "start")).status).toBe(200);
  return session;
}

/** The outbox rows an entity has, oldest first. */
export async function eventsOf(entityId: string, eventType?: string) {
  return db
    .select()
    .from(outboxEvents)
    .where(and(eq(outboxEvents.entityId, entityId), eventType ? eq(outboxEvents.eventType, eventType) : undefined))
    .orderBy(outboxEvents.occurredAt, sql`${outboxEvents.id}`);
}

export async function expectTrips(requestId: string, neon: number) {
  expect((await roundTrips(requestId)).neon).toBe(neon);
}
