import type { z } from "@hono/zod-openapi";
import { expect } from "vitest";
import { encodeCursor } from "../../src/platform/paging";
import { Classroom } from "../../src/seedtest/classrooms.routes";
import { call, expectProblem, roundTrips, token, type CallResult } from "./helpers";

export const BASE = "/api/v1/seedtest";

/** A fresh org id: a caller's org is their numeric tenant_id. */
export const org = () => 100_000 + Math.floor(Math.random() * 2_000_000_000);

export const oneTrip = async (res: CallResult) => expect((await roundTrips(res.requestId)).neon).toBe(1);

/** A teacher of `orgId` and a classroom they teach there. */
export async function classroomIn(orgId: number) {
  const teacherSub = crypto.randomUUID();
  const teacher = await token({ sub: teacherSub, roles: ["teacher"], tenant_id: String(orgId) });
  const room = await call<z.infer<typeof Classroom>>("POST", `${BASE}/classrooms`, { token: teacher, body: { name: "room", orgId, teacherId: teacherSub } });
  expect(room.status).toBe(201);
  return { teacher, classroomId: room.body.classroomId };
}

/**
 * An issued cursor with one key part replaced by `value`: the shape the list writes, with a value
 * it never would. The list must refuse it as a 422 on query.cursor before reaching Postgres.
 */
export async function expectCursorRefused(path: string, bearer: string, issued: string, part: number, value: string) {
  const key = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(issued.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0))));
  key[part] = value;
  const res = await call("GET", `${path}${path.includes("?") ? "&" : "?"}cursor=${encodeCursor(key)}`, { token: bearer });
  expectProblem(res, 422, "validation_failed");
  expect(res.body.errors[0].path).toBe("query.cursor");
  expect((await roundTrips(res.requestId)).neon).toBe(0);
}
