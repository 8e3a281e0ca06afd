import {
  type ChannelVersions,
  type Checkpoint,
  type CheckpointMetadata,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
  maxChannelVersion,
  TASKS,
  WRITES_IDX_MAP,
} from "@langchain/langgraph-checkpoint";

/**
 * The serialized form of checkpoints shared by the HTTP API, the HTTP saver and the Worker saver:
 * serialization happens in the saver (its `serde`), so the server stores and returns bytes it
 * never decodes. Rows follow @langchain/langgraph-checkpoint-postgres' layout (the checkpoint
 * without channel_values as JSON, one blob per channel version, metadata as JSON), so the
 * official savers read what these write. Binary values travel base64 in JSON.
 */

export interface WireBlob {
  channel: string;
  version: string;
  /** The serde type tag; "empty" for a channel with a version but no value. */
  type: string;
  /** Base64, or null for "empty". */
  blob: string | null;
}

export interface WriteIn {
  idx: number;
  channel: string;
  type: string;
  blob: string;
}

export interface WireWrite {
  taskId: string;
  channel: string;
  type: string;
  blob: string;
}

export interface PutBody {
  writer: string;
  checkpointNs: string;
  checkpointId: string;
  parentCheckpointId: string | null;
  checkpoint: Record<string, unknown>;
  metadata: Record<string, unknown>;
  blobs: WireBlob[];
}

export interface PutWritesBody {
  writer: string;
  checkpointNs: string;
  checkpointId: string;
  taskId: string;
  taskPath: string;
  writes: WriteIn[];
}

export interface WireTuple {
  threadId: string;
  checkpointNs: string;
  checkpointId: string;
  parentCheckpointId: string | null;
  checkpoint: Record<string, unknown>;
  metadata: Record<string, unknown>;
  channelValues: WireBlob[];
  pendingWrites: WireWrite[];
  /** Only for checkpoints of format v < 4 (before sends became a channel): the parent's sends, oldest first. */
  pendingSends: { type: string; blob: string }[];
}

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const decoder = new TextDecoder();

/** Whether a config names a thread: getTuple without one finds nothing. */
export const hasThread = (config: { configurable?: Record<string, unknown> }) =>
  typeof config.configurable?.thread_id === "string" && config.configurable.thread_id !== "";

/** The thread, namespace and checkpoint a config names; a thread is required for any write or read of one. */
export function target(config: { configurable?: Record<string, unknown> }) {
  const c = config.configurable ?? {};
  if (typeof c.thread_id !== "string" || !c.thread_id) throw new Error('config.configurable.thread_id is required');
  return {
    threadId: c.thread_id,
    checkpointNs: typeof c.checkpoint_ns === "string" ? c.checkpoint_ns : "",
    checkpointId: typeof c.checkpoint_id === "string" && c.checkpoint_id ? c.checkpoint_id : undefined,
  };
}

/** Metadata as JSON, as the official saver stores it (serde's JSON form, NULs removed: Postgres' jsonb refuses them). */
export async function dumpMetadata(serde: SerializerProtocol, metadata: CheckpointMetadata | Record<string, unknown>): Promise<Record<string, unknown>> {
  const [, bytes] = await serde.dumpsTyped(metadata);
  return JSON.parse(decoder.decode(bytes).replace(/\0/g, "")) as Record<string, unknown>;
}

export async function dumpPut(
  serde: SerializerProtocol,
  writer: string,
  config: { configurable?: Record<string, unknown> },
  checkpoint: Checkpoint,
  metadata: CheckpointMetadata,
  newVersions: ChannelVersions,
): Promise<{ threadId: string; body: PutBody }> {
  const { threadId, checkpointNs, checkpointId } = target(config);
  const { channel_values: values, ...rest } = checkpoint;
  const blobs = await Promise.all(
    Object.entries(newVersions).map(async ([channel, version]): Promise<WireBlob> => {
      if (!(channel in values)) return { channel, version: String(version), type: "empty", blob: null };
      const [type, bytes] = await serde.dumpsTyped(values[channel as keyof typeof values]);
      return { channel, version: String(version), type, blob: toBase64(bytes) };
    }),
  );
  return {
    threadId,
    body: {
      writer,
      checkpointNs,
      checkpointId: checkpoint.id,
      parentCheckpointId: checkpointId ?? null,
      checkpoint: rest as Record<string, unknown>,
      metadata: await dumpMetadata(serde, metadata),
      blobs,
    },
  };
}

export async function dumpWrites(
  serde: SerializerProtocol,
  writer: string,
  config: { configurable?: Record<string, unknown> },
  writes: PendingWrite[],
  taskId: string,
  taskPath = "",
): Promise<{ threadId: string; body: PutWritesBody }> {
  const { threadId, checkpointNs, checkpointId } = target(config);
  if (!checkpointId) throw new Error("config.configurable.checkpoint_id is required to store pending writes");
  const wire = await Promise.all(
    writes.map(async ([channel, value], idx): Promise<WriteIn> => {
      const [type, bytes] = await serde.dumpsTyped(value);
      return { idx: WRITES_IDX_MAP[channel] ?? idx, channel, type, blob: toBase64(bytes) };
    }),
  );
  return { threadId, body: { writer, checkpointNs, checkpointId, taskId, taskPath, writes: wire } };
}

/**
 * The wire tuple as LangGraph's tuple. `firstVersion` is the saver's getNextVersion(undefined):
 * a v < 4 checkpoint's pending sends become its TASKS channel, as the official savers migrate them.
 */
export async function loadTuple(serde: SerializerProtocol, t: WireTuple, firstVersion: number | string): Promise<CheckpointTuple> {
  const values: (readonly [string, unknown])[] = await Promise.all(
    t.channelValues
      .filter((b) => b.type !== "empty" && b.blob !== null)
      .map(async (b) => [b.channel, await serde.loadsTyped(b.type, fromBase64(b.blob!))] as const),
  );
  const pendingWrites = await Promise.all(
    t.pendingWrites.map(async (w) => [w.taskId, w.channel, await serde.loadsTyped(w.type, fromBase64(w.blob))] as [string, string, unknown]),
  );
  const checkpoint = t.checkpoint as Omit<Checkpoint, "channel_values">;
  const channelVersions = { ...(checkpoint.channel_versions ?? {}) };
  if (t.pendingSends.length) {
    const sends = await Promise.all(t.pendingSends.map((s) => serde.loadsTyped(s.type, fromBase64(s.blob))));
    values.push([TASKS, sends]);
    const versions = Object.values(channelVersions);
    channelVersions[TASKS] = versions.length ? maxChannelVersion(...versions) : firstVersion;
  }
  const base = { thread_id: t.threadId, checkpoint_ns: t.checkpointNs };
  return {
    config: { configurable: { ...base, checkpoint_id: t.checkpointId } },
    checkpoint: {
      ...checkpoint,
      channel_versions: channelVersions,
      versions_seen: checkpoint.versions_seen ?? {},
      channel_values: Object.fromEntries(values),
    },
    metadata: t.metadata as CheckpointMetadata,
    parentConfig: t.parentCheckpointId ? { configurable: { ...base, checkpoint_id: t.parentCheckpointId } } : undefined,
    pendingWrites,
  };
}
