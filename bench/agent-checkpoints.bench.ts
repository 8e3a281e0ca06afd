import { JsonPlusSerializer, uuid6 } from "@langchain/langgraph-checkpoint";
import { dumpPut } from "../src/agent/client/checkpoint-wire";
import type { BenchContext } from "./harness";

const THREADS = 400;

/**
 * LangGraph checkpoint put and getTuple through the API (docs/agent.md, "LangGraph checkpoints"),
 * with a checkpoint shaped like a chat agent's step: a 12-message history, a plan and a counter,
 * serialized by LangGraph's own serializer. Each put starts its own thread (no lease contention);
 * getTuple reads their latest checkpoints. Prints the bytes Postgres stores per checkpoint.
 */
export default async function (ctx: BenchContext) {
  const sub = crypto.randomUUID();
  const token = await ctx.token(sub);
  const serde = new JsonPlusSerializer();
  const messages = Array.from({ length: 12 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `message ${i}: ${"lorem ipsum ".repeat(12)}` }));
  const bodies = await Promise.all(
    Array.from({ length: THREADS }, async (_, i) => {
      const id = uuid6(-1);
      const checkpoint = {
        v: 4,
        id,
        ts: new Date().toISOString(),
        channel_values: { messages, plan: ["search", "summarize", "answer"], step: i },
        channel_versions: { messages: 3, plan: 2, step: 3 },
        versions_seen: { agent: { messages: 2 } },
      };
      const config = { configurable: { thread_id: `bench-${sub}-${i}`, checkpoint_ns: "" } };
      return dumpPut(serde, "bench", config, checkpoint, { source: "loop", step: 3, parents: {} }, { messages: 3, plan: 2, step: 3 });
    }),
  );
  const auth = { Authorization: `Bearer ${token}` };
  await ctx.measure("POST /agent/checkpoints/threads/{id}/checkpoints (put)", { total: THREADS, concurrency: 8 }, (i) =>
    new Request(`${ctx.baseUrl}/api/v1/agent/checkpoints/threads/${bodies[i]!.threadId}/checkpoints`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify(bodies[i]!.body),
    }),
  );
  await ctx.measure("GET /agent/checkpoints/threads/{id}/tuple (getTuple)", { total: 2000, concurrency: 8 }, (i) =>
    new Request(`${ctx.baseUrl}/api/v1/agent/checkpoints/threads/${bodies[i % THREADS]!.threadId}/tuple`, { headers: auth }),
  );
  const [stored] = await ctx.stack.sql.admin((db) =>
    db.query<{ checkpoints: number; bytes: number }>(
      `select count(distinct c.checkpoint_id)::int as checkpoints,
         ((select coalesce(sum(pg_column_size(c2.*)), 0) from agent.checkpoints c2 where c2.thread_id like $1)
          + (select coalesce(sum(pg_column_size(b.*)), 0) from agent.checkpoint_blobs b where b.thread_id like $1))::int as bytes
       from agent.checkpoints c where c.thread_id like $1`,
      [`bench-${sub}-%`],
    ),
  ).then((r) => r.rows);
  const wire = JSON.stringify(bodies[0]!.body).length;
  console.log(`checkpoints: ${stored!.checkpoints}, stored ${Math.round(stored!.bytes / stored!.checkpoints)} bytes per checkpoint (rows of checkpoints + checkpoint_blobs); ${wire} bytes of JSON per put`);
}
