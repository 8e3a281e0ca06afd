import { TASKS, WRITES_IDX_MAP } from "@langchain/langgraph-checkpoint";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { pruneCheckpoints } from "../../src/agent/checkpoint-jobs";
import { SPECIAL_WRITE_CHANNELS, TASKS_CHANNEL } from "../../src/agent/checkpoint-sql";
import { NeonCheckpointSaver } from "../../src/agent/checkpoint-saver";
import { runAs } from "../../src/platform/db";
import { checkpointBody, db, owner } from "./agent-checkpoints-helpers";
import { call, expectProblem, roundTrips, testEnv } from "./helpers";

const base = "/api/v1/agent/checkpoints";
const thread = () => `thread-${crypto.randomUUID()}`;

describe("the checkpoint API", () => {
  it("puts, reads (latest and by id, with parent and pending writes), lists and deletes, one round trip each", async () => {
    const me = await owner();
    const t = thread();
    const writer = crypto.randomUUID();
    const first = checkpointBody(writer, null, "one");
    const put1 = await call("POST", `${base}/threads/${t}/checkpoints`, { token: me.bearer, body: first });
    expect(put1.status).toBe(201);
    expect(put1.body).toEqual({ threadId: t, checkpointNs: "", checkpointId: first.checkpointId });
    expect(await roundTrips(put1.requestId)).toMatchObject({ neon: 1 });

    const second = checkpointBody(writer, first.checkpointId, "two");
    second.metadata = { source: "input", step: 2 };
    expect((await call("POST", `${base}/threads/${t}/checkpoints`, { token: me.bearer, body: second })).status).toBe(201);

    const writes = await call("POST", `${base}/threads/${t}/writes`, {
      token: me.bearer,
      body: { writer, checkpointId: second.checkpointId, taskId: "task-1", writes: [{ idx: 0, channel: "messages", type: "json", blob: btoa('"pending"') }] },
    });
    expect(writes.status).toBe(204);
    expect(await roundTrips(writes.requestId)).toMatchObject({ neon: 1 });

    const latest = await call("GET", `${base}/threads/${t}/tuple`, { token: me.bearer });
    expect(latest.status).toBe(200);
    expect(await roundTrips(latest.requestId)).toMatchObject({ neon: 1 });
    expect(latest.body).toMatchObject({
      threadId: t,
      checkpointId: second.checkpointId,
      parentCheckpointId: first.checkpointId,
      metadata: { source: "input", step: 2 },
      channelValues: [{ channel: "messages", version: second.blobs[0]!.version, type: "json", blob: btoa('"two"') }],
      pendingWrites: [{ taskId: "task-1", channel: "messages", type: "json", blob: btoa('"pending"') }],
    });
    const old = await call("GET", `${base}/threads/${t}/tuple?checkpointId=${first.checkpointId}`, { token: me.bearer });
    expect(old.body).toMatchObject({ checkpointId: first.checkpointId, parentCheckpointId: null, channelValues: [{ blob: btoa('"one"') }], pendingWrites: [] });

    const all = await call("GET", `${base}?threadId=${t}`, { token: me.bearer });
    expect(all.body.items.map((i: { checkpointId: string }) => i.checkpointId)).toEqual([second.checkpointId, first.checkpointId]);
    expect(await roundTrips(all.requestId)).toMatchObject({ neon: 1 });
    const filtered = await call("GET", `${base}?threadId=${t}&metadata=${encodeURIComponent('{"source":"loop"}')}`, { token: me.bearer });
    expect(filtered.body.items.map((i: { checkpointId: string }) => i.checkpointId)).toEqual([first.checkpointId]);
    const before = await call("GET", `${base}?threadId=${t}&before=${second.checkpointId}&limit=5`, { token: me.bearer });
    expect(before.body.items.map((i: { checkpointId: string }) => i.checkpointId)).toEqual([first.checkpointId]);
    const limited = await call("GET", `${base}?threadId=${t}&limit=1`, { token: me.bearer });
    expect(limited.body.items).toHaveLength(1);

    const removed = await call("DELETE", `${base}/threads/${t}`, { token: me.bearer });
    expect(removed.status).toBe(204);
    expect(await roundTrips(removed.requestId)).toMatchObject({ neon: 1 });
    expectProblem(await call("GET", `${base}/threads/${t}/tuple`, { token: me.bearer }), 404, "not_found");
    expectProblem(await call("DELETE", `${base}/threads/${t}`, { token: me.bearer }), 404, "not_found");
  });

  it("refuses a second writer that would fork the chain with a 409, storing nothing; the head may be continued by anyone", async () => {
    const me = await owner();
    const t = thread();
    const [w1, w2] = [crypto.randomUUID(), crypto.randomUUID()];
    const root = checkpointBody(w1, null);
    await call("POST", `${base}/threads/${t}/checkpoints`, { token: me.bearer, body: root });
    const next = checkpointBody(w1, root.checkpointId);
    await call("POST", `${base}/threads/${t}/checkpoints`, { token: me.bearer, body: next });

    // w2 starts from root, not the head: a fork while w1 holds the lease.
    const fork = checkpointBody(w2, root.checkpointId);
    const refused = await call("POST", `${base}/threads/${t}/checkpoints`, { token: me.bearer, body: fork });
    expectProblem(refused, 409, "checkpoint_lease_conflict");
    expect(refused.body.detail).toContain(next.checkpointId);
    const forkWrites = await call("POST", `${base}/threads/${t}/writes`, {
      token: me.bearer,
      body: { writer: w2, checkpointId: root.checkpointId, taskId: "x", writes: [{ idx: 0, channel: "c", type: "json", blob: btoa("1") }] },
    });
    expectProblem(forkWrites, 409, "checkpoint_lease_conflict");
    const [blobs, writes] = await runAs(db, me.principal, [
      db.execute(sql`select 1 from agent.checkpoint_blobs where thread_id = ${t} and version = ${fork.blobs[0]!.version}`),
      db.execute(sql`select 1 from agent.checkpoint_writes where thread_id = ${t}`),
    ] as const);
    expect([blobs.rows.length, writes.rows.length]).toEqual([0, 0]);

    // A resumed run's putWrites may arrive before the put of its new checkpoint (LangGraph sends them
    // together): a checkpoint newer than the head continues the chain, whoever holds the lease.
    const ahead = checkpointBody(w2, next.checkpointId);
    const early = await call("POST", `${base}/threads/${t}/writes`, {
      token: me.bearer,
      body: { writer: w2, checkpointId: ahead.checkpointId, taskId: "x", writes: [{ idx: 0, channel: "c", type: "json", blob: btoa("1") }] },
    });
    expect(early.status, JSON.stringify(early.body)).toBeLessThan(300);

    // A new writer continuing the head (a resumed run) takes the lease; then the old one is the forker.
    const resumed = checkpointBody(w2, next.checkpointId);
    expect((await call("POST", `${base}/threads/${t}/checkpoints`, { token: me.bearer, body: resumed })).status).toBe(201);
    expectProblem(await call("POST", `${base}/threads/${t}/checkpoints`, { token: me.bearer, body: checkpointBody(w1, next.checkpointId) }), 409, "checkpoint_lease_conflict");
  });

  it("keeps a thread to the user and organization that created it", async () => {
    const me = await owner();
    const colleague = await owner(me.principal.tenantId!);
    const t = thread();
    const root = checkpointBody("w", null);
    await call("POST", `${base}/threads/${t}/checkpoints`, { token: me.bearer, body: root });
    for (const other of [colleague, await owner()]) {
      expectProblem(await call("GET", `${base}/threads/${t}/tuple`, { token: other.bearer }), 404, "not_found");
      expect((await call("GET", `${base}?threadId=${t}`, { token: other.bearer })).body.items).toEqual([]);
      expectProblem(await call("POST", `${base}/threads/${t}/checkpoints`, { token: other.bearer, body: checkpointBody("w", root.checkpointId) }), 404, "not_found");
      expectProblem(await call("DELETE", `${base}/threads/${t}`, { token: other.bearer }), 404, "not_found");
    }
    // The same user under another organization is another owner.
    const elsewhere = { ...me, bearer: (await owner()).bearer };
    expect((await call("GET", `${base}?threadId=${t}`, { token: elsewhere.bearer })).body.items).toEqual([]);
    expect((await call("GET", `${base}/threads/${t}/tuple`, { token: me.bearer })).status).toBe(200);
  });

  it("names what is wrong in bad input", async () => {
    const me = await owner();
    const body = { ...checkpointBody("w", null), blobs: [{ channel: "c", version: "1", type: "json", blob: "not base64!" }] };
    const bad = await call("POST", `${base}/threads/${thread()}/checkpoints`, { token: me.bearer, body });
    expectProblem(bad, 422, "validation_failed");
    expect(JSON.stringify(bad.body.errors)).toContain("blobs");
    const filter = await call("GET", `${base}?metadata=${encodeURIComponent("[1]")}`, { token: me.bearer });
    expectProblem(filter, 422, "validation_failed");
    expect(JSON.stringify(filter.body.errors)).toContain("metadata");
  });
});

describe("row-level security of the checkpoint tables, as app_api", () => {
  it("shows a thread's rows in all four tables to its owner and the service role only", async () => {
    const me = await owner();
    const t = thread();
    const root = checkpointBody("w", null);
    await call("POST", `${base}/threads/${t}/checkpoints`, { token: me.bearer, body: root });
    await call("POST", `${base}/threads/${t}/writes`, {
      token: me.bearer,
      body: { writer: "w", checkpointId: root.checkpointId, taskId: "t", writes: [{ idx: 0, channel: "c", type: "json", blob: btoa("1") }] },
    });
    const counts = async (who: typeof me.principal) => {
      const rows = await runAs(db, who, [
        db.execute(sql`select 1 from agent.checkpoint_threads where thread_id = ${t}`),
        db.execute(sql`select 1 from agent.checkpoints where thread_id = ${t}`),
        db.execute(sql`select 1 from agent.checkpoint_blobs where thread_id = ${t}`),
        db.execute(sql`select 1 from agent.checkpoint_writes where thread_id = ${t}`),
      ] as const);
      return rows.map((r) => r.rows.length);
    };
    expect(await counts(me.principal)).toEqual([1, 1, 1, 1]);
    expect(await counts({ ...me.principal, tenantId: "another-org" })).toEqual([0, 0, 0, 0]);
    expect(await counts({ ...me.principal, userId: crypto.randomUUID() })).toEqual([0, 0, 0, 0]);
    expect(await counts({ ...me.principal, roles: ["admin"], userId: crypto.randomUUID() })).toEqual([0, 0, 0, 0]);
    expect(await counts({ userId: crypto.randomUUID(), tenantId: null, roles: ["service"], permissions: [] })).toEqual([1, 1, 1, 1]);

    // Writing rows of a thread one does not own, or claiming it under one's name, is refused by WITH CHECK.
    const stranger = (await owner()).principal;
    await expect(
      runAs(db, stranger, [db.execute(sql`insert into agent.checkpoints (thread_id, checkpoint_id, checkpoint) values (${t}, 'x', '{}')`)] as const),
    ).rejects.toMatchObject({ code: "42501" });
    await expect(
      runAs(db, stranger, [db.execute(sql`insert into agent.checkpoint_threads (thread_id, user_id) values (${thread()}, ${me.principal.userId})`)] as const),
    ).rejects.toMatchObject({ code: "42501" });
    const [updated] = await runAs(db, stranger, [db.execute(sql`update agent.checkpoint_threads set user_id = ${stranger.userId} where thread_id = ${t} returning 1`)] as const);
    expect(updated.rows).toEqual([]);
  });
});

describe("the Worker saver (Neon HTTP) and pruning", () => {
  it("restates LangGraph's channel constants exactly", () => {
    expect(TASKS_CHANNEL).toBe(TASKS);
    expect([...SPECIAL_WRITE_CHANNELS].sort()).toEqual(Object.keys(WRITES_IDX_MAP).sort());
  });

  it("runs inside workerd: a put is visible through the API and through a second instance", async () => {
    const me = await owner();
    const saver = new NeonCheckpointSaver(db, me.principal);
    const t = thread();
    const id = "1ef00000-0000-6000-8000-000000000001";
    const config = await saver.put(
      { configurable: { thread_id: t, checkpoint_ns: "" } },
      { v: 4, id, ts: new Date().toISOString(), channel_values: { answer: { n: 42 } }, channel_versions: { answer: 1 }, versions_seen: {} },
      { source: "input", step: -1, parents: {} },
      { answer: 1 },
    );
    await saver.putWrites(config, [["answer", { n: 43 }]], "task-a");
    const tuple = await new NeonCheckpointSaver(db, me.principal).getTuple({ configurable: { thread_id: t } });
    expect(tuple?.checkpoint.channel_values).toEqual({ answer: { n: 42 } });
    expect(tuple?.pendingWrites).toEqual([["task-a", "answer", { n: 43 }]]);
    expect((await call("GET", `${base}/threads/${t}/tuple`, { token: me.bearer })).body.checkpointId).toBe(id);
  });

  it("keeps the newest N checkpoints of a thread and deletes threads idle past the age", async () => {
    const me = await owner();
    const [busy, idle] = [thread(), thread()];
    const ids: string[] = [];
    let parent: string | null = null;
    for (let i = 0; i < 4; i++) {
      const body = checkpointBody("w", parent, `v${i}`);
      await call("POST", `${base}/threads/${busy}/checkpoints`, { token: me.bearer, body });
      ids.push(body.checkpointId);
      parent = body.checkpointId;
    }
    await call("POST", `${base}/threads/${idle}/checkpoints`, { token: me.bearer, body: checkpointBody("w", null) });
    await runAs(db, me.principal, [db.execute(sql`update agent.checkpoint_threads set last_write_at = now() - interval '40 days' where thread_id = ${idle}`)] as const);

    const report = await pruneCheckpoints({ ...testEnv, AGENT_CHECKPOINTS_KEEP: "2", AGENT_CHECKPOINT_IDLE_DAYS: "30" }, Date.now());
    expect(report.idleThreadsDeleted).toBeGreaterThanOrEqual(1);
    const left = await call("GET", `${base}?threadId=${busy}`, { token: me.bearer });
    expect(left.body.items.map((i: { checkpointId: string }) => i.checkpointId)).toEqual([ids[3], ids[2]]);
    expect(left.body.items[0].channelValues).toHaveLength(1);
    expectProblem(await call("GET", `${base}/threads/${idle}/tuple`, { token: me.bearer }), 404, "not_found");
    const [blobs, owners] = await runAs(db, me.principal, [
      db.execute(sql`select version from agent.checkpoint_blobs where thread_id in (${busy}, ${idle})`),
      db.execute(sql`select thread_id from agent.checkpoint_threads where thread_id in (${busy}, ${idle})`),
    ] as const);
    expect(blobs.rows).toHaveLength(2);
    expect(owners.rows.map((r) => r.thread_id)).toEqual([busy]);
    // Idempotent: a second run finds nothing of these threads to prune.
    await pruneCheckpoints({ ...testEnv, AGENT_CHECKPOINTS_KEEP: "2" }, Date.now());
    expect((await call("GET", `${base}?threadId=${busy}`, { token: me.bearer })).body.items).toHaveLength(2);
  });
});
