import type { z } from "@hono/zod-openapi";
import { sql, type SQL } from "drizzle-orm";
import type { IngestResult } from "../../src/hub/events.routes";
import type { Student } from "../../src/hub/students.routes";
import { loadConfig } from "../../src/platform/config";
import { createDatabase } from "../../src/platform/db";
import { call, testEnv, token } from "./helpers";

/** Tokens for the hub's three roles; a teacher's school is its tenant_id. */
export const admin = () => token({ roles: ["admin"] });
export const teacher = (schoolId: string) => token({ roles: ["teacher"], tenant_id: schoolId });
export const studentToken = (userId: string) => token({ sub: userId, roles: ["student"] });

/** A school id of this test's own, so parallel tests never see each other's students. */
export const school = () => `S-${crypto.randomUUID().slice(0, 8)}`;

/**
 * The migrating role's connection (superuser, no RLS): only for seeding what the API cannot make,
 * such as rows dated years back, and for checking the catalog.
 */
const adminUrl = (() => {
  const url = new URL(testEnv.DB_URL as string);
  url.username = "postgres";
  return url.toString();
})();
const adminDb = createDatabase(loadConfig({ ...testEnv, DB_URL: adminUrl }), "hub-test-admin");

export async function adminSql<T = Record<string, unknown>>(query: SQL): Promise<T[]> {
  const result = await adminDb.execute(query);
  return result.rows as T[];
}

/** EXPLAIN of a query with sequential scans discouraged (SET LOCAL: one transaction, one pooled connection). */
export async function planOf(query: SQL): Promise<string> {
  const [, plan] = await adminDb.batch([adminDb.execute(sql`set local enable_seqscan = off`), adminDb.execute(sql`explain ${query}`)]);
  return (plan.rows as { "QUERY PLAN": string }[]).map((r) => r["QUERY PLAN"]).join("\n");
}

export { sql };

export async function createStudent(bearer: string, body: Record<string, unknown>) {
  const res = await call<z.infer<typeof Student>>("POST", "/api/v1/hub/students", { token: bearer, body: { name: "Kim Chulsoo", grade: 10, ...body } });
  if (res.status !== 201) throw new Error(`student not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export function event(overrides: Record<string, unknown> = {}) {
  return {
    eventId: crypto.randomUUID(),
    eventType: "study",
    sourceNode: 4,
    sourceId: "LAB_SESSION_123",
    content: { action: "solved_problem", concept: "quadratics", result: "correct", time_spent: 180 },
    occurredAt: new Date().toISOString(),
    ...overrides,
  };
}

/** Posts a batch; `T` types the body (the ingest result unless a test expects a problem). */
export const ingest = <T = z.infer<typeof IngestResult>>(bearer: string, studentId: string, events: unknown[]) =>
  call<T>("POST", `/api/v1/hub/students/${studentId}/events`, { token: bearer, body: { events } });
