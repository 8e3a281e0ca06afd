import type { BatchItem } from "drizzle-orm/batch";
import type { Bindings } from "../../platform/context";
import type { Database } from "../../platform/db";

/** The results of a batch's statements, in order. */
export type BatchResults<T extends readonly BatchItem<"pg">[]> = { [K in keyof T]: Awaited<T[K]> };

/** What a node handler gets: the instance's identity, its database as the instance's actor, its mappings and deadline. */
export interface NodeContext {
  /** The Worker's bindings. */
  env: Bindings;
  /** neon-http Drizzle for the instance (statement builders; run them with `run`). */
  db: Database;
  /** Runs a batch as the instance's actor (identity first, row-level security applies): one round trip. */
  run: <T extends readonly BatchItem<"pg">[]>(statements: T) => Promise<BatchResults<T>>;
  tenantId: string;
  actorUserId: string | null;
  workflowId: string;
  instanceId: string;
  nodeId: string;
  traceId: string;
  /** `$.` paths (src/factory/workflow-paths.ts) against the instance's variables: input, global, nodes. */
  resolve: (mapping: unknown) => unknown;
  /** Aborts at the node's timeout. */
  signal: AbortSignal;
}

/**
 * One node type's work: a plain async function of the context and the node's config (mappings
 * unresolved: the handler resolves the fields that are mappings). It throws NodeError
 * (src/factory/workflow-errors.ts) to fail; the engine wraps it in a durable step with the node's
 * timeout and retry policy and writes its workflow_execution_logs row.
 */
export type NodeHandler = (ctx: NodeContext, config: Record<string, unknown>) => Promise<unknown>;
