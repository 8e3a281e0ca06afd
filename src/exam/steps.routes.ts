import { z } from "@hono/zod-openapi";
import { and, asc, eq, sql } from "drizzle-orm";
import { runAs } from "../platform/db";
import { notFound } from "../platform/problem";
import { relayAfterResponse } from "../platform/relay";
import { createRouter } from "../platform/router";
import { defineRoute, json, jsonBody } from "../platform/route";
import { listOf, uuidParams } from "../platform/schemas";
import { rowSchema } from "../platform/table-schema";
import { refused } from "./access";
import { outboxFrom } from "./outbox-from";
import { sessions, STEP_RESULTS, stepSubmissions } from "./schema";

/** Error code recorded on a submission whose runtime exceeded RUNTIME_STEP_TIMEOUT_SEC. */
export const STEP_TIMEOUT_CODE = "STEP_TIMEOUT";

const ErrorCode = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, "must be 1-64 letters, digits or _.:-");

const SubmissionInput = z
  .object({
    result: z.enum(STEP_RESULTS),
    score: z.number().int().min(0).max(100).openapi({ description: "0..100" }),
    errorCodes: z.array(ErrorCode).max(50).default([]),
    runtimeMs: z.number().int().min(0).max(2_147_483_647),
    codeSnapshotRef: z.string().min(1).max(512).nullable().default(null),
  })
  .strict()
  .openapi("StepSubmissionInput");

export const Submission = rowSchema(stepSubmissions).openapi("StepSubmission");
export const SubmissionList = listOf(Submission, "StepSubmissionList");

const StepNo = z.coerce.number().int().min(1).max(1000);
const StepParams = uuidParams("id").extend({ stepNo: StepNo.openapi({ param: { name: "stepNo", in: "path" } }) });

const submit = defineRoute(
  {
    method: "post",
    path: "/sessions/{id}/steps/{stepNo}/submissions",
    tags: ["exam"],
    summary: "Record a step submission (session RUNNING); the server assigns attempt_no; emits STEP_SUBMITTED",
    description:
      "A runtime above RUNTIME_STEP_TIMEOUT_SEC is recorded as a FAIL with score 0 and the error code STEP_TIMEOUT added, whatever the runtime reported.",
    request: { params: StepParams, body: jsonBody(SubmissionInput) },
    responses: { 201: json(Submission, "Recorded") },
  },
  404,
  409,
);

const list = defineRoute(
  {
    method: "get",
    path: "/sessions/{id}/submissions",
    tags: ["exam"],
    summary: "A session's submissions by step and attempt (owner, reviewer, proctor, admin)",
    request: { params: uuidParams("id"), query: z.object({ step: StepNo.optional() }) },
    responses: { 200: json(SubmissionList, "Submissions") },
  },
  404,
);

export const stepRoutes = createRouter()
  .openapi(submit, async (c) => {
    const { db, config } = c.var;
    const principal = c.var.principal!;
    const { id: sessionId, stepNo } = c.req.valid("param");
    const input = c.req.valid("json");
    const timedOut = input.runtimeMs > config.RUNTIME_STEP_TIMEOUT_SEC * 1000;
    const result = timedOut ? "FAIL" : input.result;
    const score = timedOut ? 0 : input.score;
    const errorCodes = timedOut && !input.errorCodes.includes(STEP_TIMEOUT_CODE) ? [...input.errorCodes, STEP_TIMEOUT_CODE] : input.errorCodes;
    const submissionId = crypto.randomUUID();
    const mine = and(eq(sessions.id, sessionId), eq(sessions.userId, principal.userId));

    const [, inserted, , current] = await runAs(db, principal, [
      // 1. Lock the session row (and mark activity for the idle sweep). Concurrent submissions
      //    queue here; each continues only after the previous one committed.
      db.update(sessions).set({ updatedAt: sql`now()` }).where(and(mine, eq(sessions.status, "RUNNING"))).returning({ id: sessions.id }),
      // 2. A separate statement, so READ COMMITTED gives it a snapshot that already contains the
      //    attempts committed while it waited: max + 1 is then gap-free and unique. It runs only
      //    when statement 1 locked the row (the row version is this transaction's).
      db
        .insert(stepSubmissions)
        .select(
          sql`select ${submissionId}::uuid, s.id, ${stepNo}::int,
                (select coalesce(max(p.attempt_no), 0) + 1 from exam.step_submissions p where p.session_id = s.id and p.step_no = ${stepNo}::int),
                ${result}::text, ${score}::int, array(select jsonb_array_elements_text(${JSON.stringify(errorCodes)}::jsonb)),
                ${input.runtimeMs}::int, ${input.codeSnapshotRef}::text, now()
              from exam.sessions s
              where s.id = ${sessionId}::uuid and s.xmin = pg_current_xact_id()::xid`,
        )
        .returning(),
      // 3. The event, from the row just inserted (none when nothing was).
      db.execute(
        outboxFrom(sql`exam.step_submissions ss join exam.sessions s on s.id = ss.session_id where ss.id = ${submissionId}::uuid`, {
          eventType: "STEP_SUBMITTED",
          actorId: principal.userId,
          entityId: sql`ss.session_id::text`,
          payload: sql`jsonb_build_object('sessionId', ss.session_id, 'stepNo', ss.step_no, 'attemptNo', ss.attempt_no, 'result', ss.result,
            'score', ss.score, 'errorCodes', to_jsonb(ss.error_codes), 'runtimeMs', ss.runtime_ms, 'overTime', ${timedOut}::boolean,
            'mode', s.mode, 'level', s.level)`,
        }),
      ),
      db.select({ status: sessions.status }).from(sessions).where(mine),
    ] as const);
    if (!inserted[0]) throw refused(current[0], "submit a step");
    relayAfterResponse(c);
    return c.json(inserted[0], 201);
  })
  .openapi(list, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const { step } = c.req.valid("query");
    // Visibility is row-level security's: the owner, or reviewer/proctor/admin (0002, 0004).
    const [items, session] = await runAs(db, c.var.principal, [
      db
        .select()
        .from(stepSubmissions)
        .where(and(eq(stepSubmissions.sessionId, id), step ? eq(stepSubmissions.stepNo, step) : undefined))
        .orderBy(asc(stepSubmissions.stepNo), asc(stepSubmissions.attemptNo)),
      db.select({ id: sessions.id }).from(sessions).where(eq(sessions.id, id)),
    ] as const);
    if (!session[0]) throw notFound("the session");
    return c.json({ items }, 200);
  });
