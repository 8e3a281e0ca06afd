import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import type { Principal } from "../platform/auth";
import type { Database } from "../platform/db";
import { deleteThread, getTuple, listTuples, putCheckpoint, putWrites } from "./checkpoint-sql";
import { dumpMetadata, dumpPut, dumpWrites, hasThread, loadTuple, target } from "./client/checkpoint-wire";

export interface NeonSaverOptions {
  /** This saver's writer id for the per-thread lease; one per instance unless given. */
  writer?: string;
  leaseSeconds?: number;
  serde?: SerializerProtocol;
}

/**
 * A LangGraph checkpointer that runs inside a Worker on the Neon HTTP driver: one batch (one round
 * trip, one transaction) per put, putWrites, getTuple, list page and deleteThread, as `principal`,
 * so row-level security keeps each caller to its own threads. The official Postgres saver needs
 * interactive transactions over TCP, which Workers do not have.
 */
export class NeonCheckpointSaver extends BaseCheckpointSaver {
  readonly writer: string;

  constructor(
    private readonly db: Database,
    private readonly principal: Principal,
    private readonly options: NeonSaverOptions = {},
  ) {
    super(options.serde);
    this.writer = options.writer ?? crypto.randomUUID();
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    if (!hasThread(config)) return undefined;
    const { threadId, checkpointNs, checkpointId } = target(config);
    const row = await getTuple(this.db, this.principal, threadId, checkpointNs, checkpointId);
    return row && loadTuple(this.serde, row, this.getNextVersion(undefined));
  }

  async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const c = config.configurable ?? {};
    const rows = await listTuples(this.db, this.principal, {
      threadId: c.thread_id,
      checkpointNs: c.checkpoint_ns ?? undefined,
      checkpointId: c.checkpoint_id || undefined,
      metadata: options.filter && (await dumpMetadata(this.serde, options.filter)),
      before: options.before?.configurable?.checkpoint_id,
      limit: options.limit,
    });
    for (const row of rows) yield loadTuple(this.serde, row, this.getNextVersion(undefined));
  }

  async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    const { threadId, body } = await dumpPut(this.serde, this.writer, config, checkpoint, metadata, newVersions);
    await putCheckpoint(this.db, this.principal, threadId, body, this.options.leaseSeconds);
    return { configurable: { thread_id: threadId, checkpoint_ns: body.checkpointNs, checkpoint_id: checkpoint.id } };
  }

  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void> {
    const { threadId, body } = await dumpWrites(this.serde, this.writer, config, writes, taskId, taskPath);
    await putWrites(this.db, this.principal, threadId, body, this.options.leaseSeconds);
  }

  async deleteThread(threadId: string): Promise<void> {
    await deleteThread(this.db, this.principal, threadId);
  }
}
