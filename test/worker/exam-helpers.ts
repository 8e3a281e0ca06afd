import type { z } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import { expect } from "vitest";
import type { Session } from "../../src/exam/sessions.routes";
import type { Principal } from "../../src/platform/auth";
import { outboxEvents } from "../../src/platform/outbox";
import { loadConfig } from "../../src/platform/config";
import { createDatabase } from "../../src/platform/db";
import { call, roundTrips, testEnv, token } from "./helpers";

/** Test-side access as the API's own role (seeding and checks, never through the routes); app.outbox_events has no RLS. */
export const db = createDatabase(loadConfig(testEnv), "exam-test");

/** Whom a test-side statement runs as under row-level security: `userId` (a new one by default) holding `roles`. */
export const learner = (userId: string = crypto.randomUUID(), roles: string[] = []): Principal => ({ userId, tenantId: null, roles, permissions: [] });

export interface Caller {
  sub: string;
  bearer: string;
}

export async function caller(roles: string[] = []): Promise<Caller> {
  const sub = crypto.randomUUID();
  return { sub, bearer: await token({ sub, roles }) };
}

export type LabSession = z.infer<typeof Session>;

export const LAB = { level: "ASSOCIATE", engineType: "JUPYTER", mode: "PRACTICE" } as const;

/** A new session of `who` in CREATED; `over` changes the input. */
export async function newSession(who: Caller, over: Record<string, unknown> = {}) {
  const res = await call<LabSession>("POST", "/api/v1/exam/sessions", {
    token: who.bearer,
    body: { labId: crypto.randomUUID(), policyId: crypto.randomUUID(), ...LAB, ...over },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** A transition: the session on 200, a problem otherwise, so the body stays untyped. */
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
