import { z } from "@hono/zod-openapi";
import { JsonObject } from "../platform/input";
import { notFound } from "../platform/problem";
import { defineRoute, json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { JsonObjectParam, listOf } from "../platform/schemas";
import { deleteThread, getTuple, listTuples, putCheckpoint, putWrites } from "./checkpoint-sql";

/**
 * The LangGraph checkpointer over HTTP (docs/agent.md, "LangGraph checkpoints"): the five
 * BaseCheckpointSaver operations on serialized checkpoints, blobs base64. The HTTP saver
 * (src/agent/client/http-saver.ts) is its client. A thread belongs to the user and organization
 * whose token first wrote it; no other caller sees or writes it.
 */

const Id = z.string().min(1).max(255);
const Namespace = z.string().max(255).default("").openapi({ description: "checkpoint_ns; '' is the root graph" });
const Base64 = z.base64().max(1024 * 1024);
const Writer = Id.openapi({ description: "The writer (a saver instance) asking for the thread's write lease" });

const Blob = z
  .object({
    channel: Id,
    version: Id,
    type: Id.openapi({ description: "serde type tag; 'empty' for a versioned channel without a value" }),
    blob: Base64.nullable(),
  })
  .strict()
  .openapi("CheckpointBlob");

const Write = z.object({ taskId: Id, channel: Id, type: Id, blob: Base64 }).openapi("CheckpointPendingWrite");

const CheckpointPut = z
  .object({
    writer: Writer,
    checkpointNs: Namespace,
    checkpointId: Id,
    parentCheckpointId: Id.nullable().default(null),
    checkpoint: JsonObject.openapi({ description: "The checkpoint without channel_values (id, ts, v, channel_versions, versions_seen)" }),
    metadata: JsonObject.default({}),
    blobs: z.array(Blob).max(1000).default([]).openapi({ description: "The new channel versions' values" }),
  })
  .strict()
  .openapi("CheckpointPut");

const WritesPut = z
  .object({
    writer: Writer,
    checkpointNs: Namespace,
    checkpointId: Id,
    taskId: Id,
    taskPath: z.string().max(1024).default(""),
    writes: z
      .array(z.object({ idx: z.number().int().min(-1000).max(100_000), channel: Id, type: Id, blob: Base64 }).strict())
      .min(1)
      .max(1000),
  })
  .strict()
  .openapi("CheckpointWritesPut");

const CheckpointConfig = z.object({ threadId: Id, checkpointNs: z.string(), checkpointId: Id }).openapi("CheckpointConfig");

const Tuple = z
  .object({
    threadId: z.string(),
    checkpointNs: z.string(),
    checkpointId: z.string(),
    parentCheckpointId: z.string().nullable(),
    checkpoint: z.record(z.string(), z.unknown()),
    metadata: z.record(z.string(), z.unknown()),
    channelValues: z.array(Blob),
    pendingWrites: z.array(Write),
    pendingSends: z.array(z.object({ type: z.string(), blob: z.string() })).openapi({ description: "Format v < 4 only: the parent's sends" }),
  })
  .openapi("CheckpointTuple");

const tags = ["agent"];
const threadParams = z.object({ threadId: Id.openapi({ param: { name: "threadId", in: "path" } }) });

const put = defineRoute(
  {
    method: "post",
    path: "/checkpoints/threads/{threadId}/checkpoints",
    tags,
    summary: "Store a checkpoint and its new channel values (put); takes the thread's write lease",
    request: { params: threadParams, body: jsonBody(CheckpointPut) },
    responses: { 201: json(CheckpointConfig, "Stored: the config naming the new checkpoint") },
  },
  404,
  409,
);

const writes = defineRoute(
  {
    method: "post",
    path: "/checkpoints/threads/{threadId}/writes",
    tags,
    summary: "Store a task's pending writes on a checkpoint (putWrites); takes the thread's write lease",
    request: { params: threadParams, body: jsonBody(WritesPut) },
    responses: { 204: { description: "Stored" } },
  },
  404,
  409,
);

const tuple = defineRoute(
  {
    method: "get",
    path: "/checkpoints/threads/{threadId}/tuple",
    tags,
    summary: "The latest checkpoint of a namespace, or the one checkpointId names, with its parent and pending writes (getTuple)",
    request: { params: threadParams, query: z.object({ checkpointNs: Namespace, checkpointId: Id.optional() }) },
    responses: { 200: json(Tuple, "The checkpoint tuple") },
  },
  404,
);

const list = defineRoute({
  method: "get",
  path: "/checkpoints",
  tags,
  summary: "The caller's checkpoints, newest first (list): by thread, namespace, checkpoint, metadata containment, before and limit",
  request: {
    query: z.object({
      threadId: Id.optional(),
      checkpointNs: z.string().max(255).optional(),
      checkpointId: Id.optional(),
      metadata: JsonObjectParam.optional().openapi({ type: "string", description: 'JSON object the metadata must contain, e.g. {"source":"loop"}' }),
      before: Id.optional().openapi({ description: "Only checkpoints older than this checkpoint id" }),
      limit: z.coerce.number().int().min(1).max(1000).optional(),
    }),
  },
  responses: { 200: json(listOf(Tuple, "CheckpointTupleList"), "Matching checkpoints, newest first") },
});

const remove = defineRoute(
  {
    method: "delete",
    path: "/checkpoints/threads/{threadId}",
    tags,
    summary: "Delete a thread: its checkpoints, blobs and pending writes (deleteThread)",
    request: { params: threadParams },
    responses: { 204: { description: "Deleted" } },
  },
  404,
);

export const checkpointRoutes = createRouter()
  .openapi(put, async (c) => {
    const { threadId } = c.req.valid("param");
    const body = c.req.valid("json");
    await putCheckpoint(c.var.db, c.var.principal!, threadId, body);
    return c.json({ threadId, checkpointNs: body.checkpointNs, checkpointId: body.checkpointId }, 201);
  })
  .openapi(writes, async (c) => {
    await putWrites(c.var.db, c.var.principal!, c.req.valid("param").threadId, c.req.valid("json"));
    return c.body(null, 204);
  })
  .openapi(tuple, async (c) => {
    const { threadId } = c.req.valid("param");
    const { checkpointNs, checkpointId } = c.req.valid("query");
    const row = await getTuple(c.var.db, c.var.principal!, threadId, checkpointNs, checkpointId);
    if (!row) throw notFound(checkpointId ? `checkpoint ${checkpointId}` : `a checkpoint of thread ${threadId}`);
    return c.json(row, 200);
  })
  .openapi(list, async (c) => {
    const items = await listTuples(c.var.db, c.var.principal!, c.req.valid("query"));
    return c.json({ items }, 200);
  })
  .openapi(remove, async (c) => {
    const { threadId } = c.req.valid("param");
    if (!(await deleteThread(c.var.db, c.var.principal!, threadId))) throw notFound(`checkpoint thread ${threadId}`);
    return c.body(null, 204);
  });
