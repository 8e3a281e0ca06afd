import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { MAX_EVENT_DEPTH } from "../../src/factory/workflow-events";
import { startEventWorkflows } from "../../src/factory/workflow-event-triggers";
import { toEnvelope, type ClaimedEvent } from "../../src/platform/relay";
import { db, seedTenant, type FactoryUser } from "./factory-helpers";
import { DEFECT_RATE_SCRIPT, defectInput, execute as judge, seedRuleset } from "./factory-judgments-helpers";
import { actionUrl, ended } from "./factory-workflow-helpers";
import { countDsl, deactivateWorkflow, defineWorkflow, instancesOf, uniqueName, untilInstances } from "./factory-workflow-trigger-helpers";
import { call, roundTrips, testEnv } from "./helpers";

/**
 * Event triggers: factory events written with their cause (a judgment, an instance's end), relayed
 * to the EVENTS queue and consumed in workerd (src/factory/workflow-event-triggers.ts).
 */

async function outboxOf(entityId: string): Promise<ClaimedEvent[]> {
  const { rows } = await db.execute<Omit<ClaimedEvent, "occurredAt"> & { occurredAt: string }>(sql`
    select id, system, event_type as "eventType", occurred_at as "occurredAt", actor_id as "actorId", entity_id as "entityId", payload
    from app.outbox_events where entity_id = ${entityId} order by event_type`);
  return rows.map((r) => ({ ...r, occurredAt: new Date(r.occurredAt) }));
}

/** A workflow whose only node fails (an ACTION to a receiver answering 500, no retry). */
function failingDsl(name: string): Record<string, unknown> {
  return {
    name,
    variables: { input: { workflow_name: { type: "string" } } },
    nodes: [{ id: "call", type: "ACTION", config: { url: actionUrl("fail", crypto.randomUUID()) }, retry_policy: { max_attempts: 1 } }],
  };
}

const quiet = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function criticalJudgment(admin: FactoryUser, rulesetId: string) {
  const res = await judge(admin, { inputData: defectInput(0.08), rulesetId });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.result).toBe("critical");
  return res;
}

describe("workflow event triggers", () => {
  it("a critical judgment starts the workflows whose filter matches, through the queue, with the declared fields of the event as input", async () => {
    const { admin } = await seedTenant();
    const other = await seedTenant();
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const inputVars = { result: { type: "string" }, judgment_id: { type: "string" }, confidence: { type: "number" } };
    const onCritical = await defineWorkflow(admin, countDsl(uniqueName("crit"), inputVars), { type: "event", event_filter: { event: "judgment.critical", where: { result: "critical", "input.line_code": ["L01", "L02"] } } });
    const onCompleted = await defineWorkflow(admin, countDsl(uniqueName("done"), inputVars), { type: "event", event_filter: { event: "judgment.completed" } });
    const otherLine = await defineWorkflow(admin, countDsl(uniqueName("l9")), { type: "event", event_filter: { event: "judgment.critical", where: { "input.line_code": "L09" } } });
    const disabled = await defineWorkflow(admin, countDsl(uniqueName("off")), { type: "event", enabled: false, event_filter: { event: "judgment.critical" } });
    const inactive = await defineWorkflow(admin, countDsl(uniqueName("idle")), { type: "event", event_filter: { event: "judgment.critical" } }, { activate: false });
    const foreign = await defineWorkflow(other.admin, countDsl(uniqueName("foreign")), { type: "event", event_filter: { event: "judgment.critical" } });

    const res = await criticalJudgment(admin, rulesetId);
    // Written in the judgment's own batch: there when the answer is.
    const events = await outboxOf(res.body.id);
    expect(events.map((e) => e.eventType)).toEqual(["judgment.completed", "judgment.critical"]);
    expect(events[1]!.payload).toMatchObject({ tenantId: admin.tenantId, depth: 0, data: { judgment_id: res.body.id, result: "critical", ruleset_id: rulesetId, source: "api", input: { line_code: "L01" } } });

    const [crit] = await untilInstances(admin, onCritical.id, 1);
    const done = await ended(admin, crit.id);
    expect(done).toMatchObject({ status: "COMPLETED", triggerType: "event", triggeredBy: null, inputContext: { result: "critical", judgment_id: res.body.id, confidence: res.body.confidence } });
    expect(done.metadata).toMatchObject({ trigger_depth: 1, trigger: { event: "judgment.critical", event_id: events[1]!.id, entity_id: res.body.id } });
    await untilInstances(admin, onCompleted.id, 1);
    await quiet(1500);
    for (const wf of [otherLine, disabled, inactive]) expect(await instancesOf(admin, wf.id)).toHaveLength(0);
    expect(await instancesOf(other.admin, foreign.id)).toHaveLength(0);
    expect(await instancesOf(admin, onCritical.id)).toHaveLength(1);
    for (const wf of [onCritical, onCompleted, otherLine, disabled]) await deactivateWorkflow(admin, wf.id);
    await deactivateWorkflow(other.admin, foreign.id);
  });

  it("writes no event nobody listens for, and costs the judgment no round trip", async () => {
    const { admin } = await seedTenant();
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const quietRes = await criticalJudgment(admin, rulesetId);
    expect(await outboxOf(quietRes.body.id)).toEqual([]);
    const listener = await defineWorkflow(admin, countDsl(uniqueName("crit")), { type: "event", event_filter: { event: "judgment.critical" } });
    const heard = await judge(admin, { inputData: defectInput(0.09), rulesetId });
    expect((await outboxOf(heard.body.id)).map((e) => e.eventType)).toEqual(["judgment.critical"]);
    expect((await roundTrips(heard.requestId)).neon).toBe((await roundTrips(quietRes.requestId)).neon);
    await untilInstances(admin, listener.id, 1);
    await deactivateWorkflow(admin, listener.id);
  });

  it("a redelivered event starts nothing twice (per workflow and event id)", async () => {
    const { admin } = await seedTenant();
    const rulesetId = await seedRuleset(admin, [{ version: 1, script: DEFECT_RATE_SCRIPT }]);
    const listener = await defineWorkflow(admin, countDsl(uniqueName("crit")), { type: "event", event_filter: { event: "judgment.critical" } });
    const res = await criticalJudgment(admin, rulesetId);
    const [first] = await untilInstances(admin, listener.id, 1);
    const envelope = toEnvelope((await outboxOf(res.body.id))[0]!);
    // Through the queue again, and straight to the consumer twice at once.
    await (testEnv as unknown as { EVENTS: Queue }).EVENTS.send(envelope, { contentType: "json" });
    await Promise.all([startEventWorkflows(envelope, testEnv as never), startEventWorkflows(envelope, testEnv as never)]);
    await quiet(1500);
    expect((await instancesOf(admin, listener.id)).map((i) => i.id)).toEqual([first.id]);
    await deactivateWorkflow(admin, listener.id);
  });

  it(`workflow.completed starts a listener; a workflow failing on its own workflow.failed stops after ${MAX_EVENT_DEPTH} event-started generations`, async () => {
    const { admin } = await seedTenant();
    const name = uniqueName("loop");
    const looping = await defineWorkflow(admin, failingDsl(name), { type: "event", event_filter: { event: "workflow.failed", where: { workflow_name: name } } });
    const source = await defineWorkflow(admin, countDsl(uniqueName("src")), null);
    const follower = await defineWorkflow(admin, countDsl(uniqueName("next"), { workflow_name: { type: "string" }, status: { type: "string" } }), {
      type: "event",
      event_filter: { event: "workflow.completed", where: { workflow_name: source.name } },
    });

    const manual = await call("POST", `/api/v1/factory/workflows/${source.id}/execute`, { token: admin.bearer, body: { input: {} } });
    expect(manual.status).toBe(202);
    const [next] = await untilInstances(admin, follower.id, 1);
    expect((await ended(admin, next.id)).inputContext).toMatchObject({ workflow_name: source.name, status: "COMPLETED" });

    const first = await call("POST", `/api/v1/factory/workflows/${looping.id}/execute`, { token: admin.bearer, body: { input: {} } });
    expect(first.status).toBe(202);
    const all = await untilInstances(admin, looping.id, 1 + MAX_EVENT_DEPTH, 60_000);
    for (const i of all) expect((await ended(admin, i.id)).status).toBe("FAILED");
    await quiet(4000);
    const settled = await instancesOf(admin, looping.id);
    expect(settled).toHaveLength(1 + MAX_EVENT_DEPTH);
    expect(settled.map((i) => i.metadata.trigger_depth ?? 0).sort()).toEqual([0, 1, 2, 3]);
    expect(settled.filter((i) => i.triggerType === "event")).toHaveLength(MAX_EVENT_DEPTH);
    // The last generation's failure was written (depth 3) but started nothing.
    const deepest = settled.find((i) => i.metadata.trigger_depth === MAX_EVENT_DEPTH)!;
    expect((await outboxOf(deepest.id)).map((e) => [e.eventType, e.payload.depth])).toEqual([["workflow.failed", MAX_EVENT_DEPTH]]);
    for (const wf of [looping, follower]) await deactivateWorkflow(admin, wf.id);
  });
});
