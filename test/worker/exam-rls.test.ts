import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sessions, stepSubmissions } from "../../src/exam/schema";
import type { Principal } from "../../src/platform/auth";
import { runAs } from "../../src/platform/db";
import { call } from "./helpers";
import { caller, db, learner, move, runningSession } from "./exam-helpers";

const as = (roles: string[]) => learner(undefined, roles);

/** The database, not just the routes, keeps each role to its moves (migration 0004). */
describe("row-level security of the exam flows", () => {
  it("lets reviewers read others' sessions and submissions, proctors the sessions, and a learner nobody else's", async () => {
    const me = await caller();
    const s = await runningSession(me);
    await call("POST", `/api/v1/exam/sessions/${s.id}/steps/1/submissions`, { token: me.bearer, body: { result: "PASS", score: 90, runtimeMs: 1 } });
    for (const [roles, visible] of [[["reviewer"], [1, 1]], [["proctor"], [1, 0]], [["admin"], [1, 1]], [[], [0, 0]], [["learner"], [0, 0]]] as const) {
      const [seen, subs] = await runAs(db, as([...roles]), [
        db.select().from(sessions).where(eq(sessions.id, s.id)),
        db.select().from(stepSubmissions).where(eq(stepSubmissions.sessionId, s.id)),
      ] as const);
      expect([seen.length, subs.length], roles.join()).toEqual(visible);
    }
  });

  it("confines each staff role's updates to its own transitions", async () => {
    const me = await caller();
    const s = await runningSession(me);
    await move(me, s.id, "submit");
    const setStatus = (who: Principal, status: string) =>
      runAs(db, who, [db.update(sessions).set({ status: status as never }).where(eq(sessions.id, s.id)).returning({ id: sessions.id })] as const);

    // A reviewer may not force-close, a proctor may not review: WITH CHECK refuses the new row.
    await expect(setStatus(as(["reviewer"]), "FORCE_CLOSED")).rejects.toMatchObject({ code: "42501" });
    await expect(setStatus(as(["proctor"]), "REVIEWED")).rejects.toMatchObject({ code: "42501" });
    // Learners cannot touch another's session at all; staff cannot act on states outside their policy.
    expect((await setStatus(as([]), "CLOSED"))[0]).toEqual([]);
    // Moves off the state machine match nothing, whoever asks (the status trigger).
    expect((await setStatus(as(["reviewer"]), "RUNNING"))[0]).toEqual([]);
    expect((await setStatus(as(["admin"]), "CLOSED"))[0]).toEqual([]);
    expect((await setStatus(as(["reviewer"]), "REVIEWED"))[0]).toHaveLength(1);
    expect((await setStatus(as(["proctor"]), "FORCE_CLOSED"))[0]).toEqual([]);
  });

  it("keeps even the owner to the state machine", async () => {
    const me = await caller();
    const s = await runningSession(me);
    const owner: Principal = { userId: me.sub, tenantId: null, roles: [], permissions: [] };
    const set = (status: string) =>
      runAs(db, owner, [db.update(sessions).set({ status: status as never }).where(eq(sessions.id, s.id)).returning({ status: sessions.status })] as const);
    for (const status of ["CLOSED", "REVIEWED", "CREATED"]) expect((await set(status))[0], status).toEqual([]);
    expect((await set("SUBMITTED"))[0]).toEqual([{ status: "SUBMITTED" }]);
  });

  it("keeps the job functions away from everyone but the API role and ignores the caller's identity", async () => {
    const { rows } = await db.execute<{ fn: string; definer: boolean; public_exec: boolean }>(sql`
      select p.proname as fn, p.prosecdef as definer,
             has_function_privilege('public', p.oid, 'execute') as public_exec
        from pg_proc p where p.pronamespace = 'exam'::regnamespace and p.proname in ('abandon_idle_sessions', 'purge_policy_events')
       order by 1`);
    expect(rows).toEqual([
      { fn: "abandon_idle_sessions", definer: true, public_exec: false },
      { fn: "purge_policy_events", definer: true, public_exec: false },
    ]);
  });
});
