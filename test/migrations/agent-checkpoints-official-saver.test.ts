import { randomBytes } from "node:crypto";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { uuid6 } from "@langchain/langgraph-checkpoint";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NeonCheckpointSaver } from "../../src/agent/checkpoint-saver";
import type { Config } from "../../src/platform/config";
import { createDatabase } from "../../src/platform/db";
import { startValidationStack, type ValidationStack } from "../checkpoint-validation/stack";

/**
 * Migration 0011 lets the official @langchain/langgraph-checkpoint-postgres saver run on agent's
 * tables unchanged: its setup() finds its migrations applied, and it and the Worker saver read
 * each other's rows. It connects as its own role (not app_api): the `_direct` policies let it
 * through, and the grants an operator gives are its access control.
 */
describe("the official Postgres saver on migration 0011's tables", () => {
  const role = `ckpt_saver_${randomBytes(4).toString("hex")}`;
  let stack: ValidationStack;
  let admin: pg.Client;
  let official: PostgresSaver;
  const user = { userId: crypto.randomUUID(), tenantId: "org-official", roles: [], permissions: [] };

  beforeAll(async () => {
    stack = await startValidationStack();
    admin = new pg.Client({ connectionString: stack.adminUrl });
    await admin.connect();
    const database = new URL(stack.adminUrl).pathname.slice(1);
    await admin.query(`create role ${role} login nosuperuser nobypassrls`);
    await admin.query(`grant create on database ${database} to ${role}`);
    await admin.query(`grant usage on schema agent to ${role}`);
    await admin.query(`grant select, insert, update, delete on agent.checkpoints, agent.checkpoint_blobs, agent.checkpoint_writes, agent.checkpoint_migrations to ${role}`);
    const url = new URL(stack.adminUrl);
    url.username = role;
    official = new PostgresSaver(new pg.Pool({ connectionString: url.toString(), max: 2 }), undefined, { schema: "agent" });
  });

  afterAll(async () => {
    await official?.end();
    if (admin) {
      await admin.query(`drop owned by ${role}`).catch(() => undefined);
      await admin.end();
    }
    await stack?.stop();
    const server = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres" });
    await server.connect();
    await server.query(`drop role if exists ${role}`);
    await server.end();
  });

  it("finds its migrations applied, and reads and extends what the Worker saver wrote", async () => {
    await official.setup();
    const { rows: versions } = await admin.query("select v from agent.checkpoint_migrations order by v");
    expect(versions.map((r) => r.v)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

    const ours = new NeonCheckpointSaver(createDatabase(stack.env as unknown as Config, "official-saver-test"), user);
    const thread = { configurable: { thread_id: `shared-${crypto.randomUUID()}`, checkpoint_ns: "" } };
    const first = { v: 4, id: uuid6(0), ts: new Date().toISOString(), channel_values: { plan: ["a", "b"] }, channel_versions: { plan: 1 }, versions_seen: {} };
    const firstConfig = await ours.put(thread, first, { source: "input", step: -1, parents: {} }, { plan: 1 });
    await ours.putWrites(firstConfig, [["plan", ["c"]]], "task-1");

    const read = await official.getTuple(thread);
    expect(read?.checkpoint.channel_values).toEqual({ plan: ["a", "b"] });
    expect(read?.pendingWrites).toEqual([["task-1", "plan", ["c"]]]);
    expect(read?.metadata).toMatchObject({ source: "input", step: -1 });

    const second = { ...first, id: uuid6(1), channel_values: { plan: ["a", "b", "c"] }, channel_versions: { plan: 2 } };
    await official.put(firstConfig, second, { source: "loop", step: 0, parents: {} }, { plan: 2 });
    const latest = await ours.getTuple(thread);
    expect(latest?.checkpoint.channel_values).toEqual({ plan: ["a", "b", "c"] });
    expect(latest?.parentConfig?.configurable?.checkpoint_id).toBe(first.id);

    // A thread the official saver starts has no owner row: the API's callers never see it.
    const direct = { configurable: { thread_id: `direct-${crypto.randomUUID()}`, checkpoint_ns: "" } };
    await official.put(direct, { ...first, id: uuid6(2) }, { source: "input", step: -1, parents: {} }, { plan: 1 });
    expect(await official.getTuple(direct)).toBeDefined();
    expect(await ours.getTuple(direct)).toBeUndefined();
  });
});
