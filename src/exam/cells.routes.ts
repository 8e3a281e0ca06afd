import { z } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import { runAs } from "../platform/db";
import { relayAfterResponse } from "../platform/relay";
import { createRouter } from "../platform/router";
import { defineRoute, json, jsonBody } from "../platform/route";
import { uuidParams } from "../platform/schemas";
import { refused } from "./access";
import { outboxFrom } from "./outbox-from";
import { sessions } from "./schema";

const CellInput = z
  .object({
    cellId: z.string().min(1).max(128).openapi({ description: "The notebook cell or block the runtime executed" }),
    runtimeMs: z.number().int().min(0).max(2_147_483_647),
    outcome: z.enum(["OK", "ERROR"]).default("OK"),
  })
  .strict()
  .openapi("CellExecutionInput");

export const CellExecution = z
  .object({
    eventId: z.uuid().openapi({ description: "The CELL_EXECUTED event that is the execution's record" }),
    sessionId: z.uuid(),
    cellId: z.string(),
    runtimeMs: z.number().int(),
    outcome: z.enum(["OK", "ERROR"]),
    overTime: z.boolean().openapi({ description: "runtimeMs exceeded RUNTIME_CELL_TIMEOUT_SEC" }),
    timeoutMs: z.number().int(),
  })
  .openapi("CellExecution");

export const RuntimeConfig = z
  .object({
    image: z.string(),
    cpuLimit: z.number(),
    memLimitMb: z.number().int(),
    cellTimeoutSec: z.number().int(),
    stepTimeoutSec: z.number().int(),
    referenceAllowlistDomains: z.array(z.string()),
  })
  .openapi("RuntimeConfig");

const recordCell = defineRoute(
  {
    method: "post",
    path: "/sessions/{id}/cells",
    tags: ["exam"],
    summary: "Record a cell execution reported by the lab runtime (session RUNNING); emits CELL_EXECUTED",
    description: "This API never runs code: it records and judges what the external runtime reports. The CELL_EXECUTED event is the record.",
    request: { params: uuidParams("id"), body: jsonBody(CellInput) },
    responses: { 201: json(CellExecution, "Recorded") },
  },
  404,
  409,
);

const runtimeConfig = defineRoute({
  method: "get",
  path: "/runtime-config",
  tags: ["exam"],
  summary: "The lab runtime's image and limits (spec 000 §27), for runtime clients",
  responses: { 200: json(RuntimeConfig, "Runtime configuration") },
});

export const cellRoutes = createRouter()
  .openapi(recordCell, async (c) => {
    const { db, config } = c.var;
    const principal = c.var.principal!;
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    const timeoutMs = config.RUNTIME_CELL_TIMEOUT_SEC * 1000;
    const overTime = input.runtimeMs > timeoutMs;
    const mine = and(eq(sessions.id, id), eq(sessions.userId, principal.userId));
    const touch = db
      .update(sessions)
      .set({ updatedAt: sql`now()` })
      .where(and(mine, eq(sessions.status, "RUNNING")))
      .returning({ id: sessions.id, mode: sessions.mode, level: sessions.level });
    const [recorded, current] = await runAs(db, principal, [
      // Marks activity for the idle sweep and writes the event only if the session is RUNNING.
      db.execute<{ id: string }>(
        sql`with touched as (${touch.getSQL()}) ${outboxFrom(sql`touched`, {
          eventType: "CELL_EXECUTED",
          actorId: principal.userId,
          entityId: sql`touched.id::text`,
          payload: sql`jsonb_build_object('sessionId', touched.id, 'cellId', ${input.cellId}::text, 'runtimeMs', ${input.runtimeMs}::int,
            'outcome', ${input.outcome}::text, 'overTime', ${overTime}::boolean, 'timeoutMs', ${timeoutMs}::int, 'mode', touched.mode, 'level', touched.level)`,
        })} returning id`,
      ),
      db.select({ status: sessions.status }).from(sessions).where(mine),
    ] as const);
    const eventId = recorded.rows[0]?.id;
    if (!eventId) throw refused(current[0], "record a cell execution");
    relayAfterResponse(c);
    return c.json({ eventId, sessionId: id, cellId: input.cellId, runtimeMs: input.runtimeMs, outcome: input.outcome, overTime, timeoutMs }, 201);
  })
  .openapi(runtimeConfig, (c) => {
    const { config } = c.var;
    return c.json(
      {
        image: config.RUNTIME_IMAGE,
        cpuLimit: config.RUNTIME_CPU_LIMIT,
        memLimitMb: config.RUNTIME_MEM_LIMIT_MB,
        cellTimeoutSec: config.RUNTIME_CELL_TIMEOUT_SEC,
        stepTimeoutSec: config.RUNTIME_STEP_TIMEOUT_SEC,
        referenceAllowlistDomains: config.REFERENCE_ALLOWLIST_DOMAINS,
      },
      200,
    );
  });
