import type { BatchItem } from "drizzle-orm/batch";
import type { Bindings } from "../../platform/context";
import type { Database } from "../../platform/db";

/** The results of a batch's statements, in order. */
export type BatchResults<T extends readonly BatchItem<"pg">[]> = { [K in keyof T]: Awaited<T[K]> };

/**
 * What a node handler gets from the engine (docs/factory-workflows.md): the instance's tenant and
 * actor, a database whose batches run as that actor (identity and row-level security, one round
 * trip each), the runtime variables' path resolver and the node's timeout as an abort signal.
 */
export interface NodeContext {
  env: Bindings;
  db: Database;
  /** Runs a batch as the instance's actor (identity + RLS) in one round trip; returns the statements' results. */
  run: <T extends readonly BatchItem<"pg">[]>(statements: T) => Promise<BatchResults<T>>;
  tenantId: string;
  /** The user who triggered the instance (schedule, webhook, event: the workflow's created_by); null when there is none. */
  actorUserId: string | null;
  workflowId: string;
  instanceId: string;
  nodeId: string;
  traceId: string;
  /** `$.` paths (src/factory/workflow-paths.ts) resolved against the runtime variables. */
  resolve: (mapping: unknown) => unknown;
  /** Aborts at the node's timeout. */
  signal: AbortSignal;
}

/** One node type's work: a plain async function the engine runs inside a durable step. Throws NodeError. */
export type NodeHandler = (ctx: NodeContext, config: Record<string, unknown>) => Promise<unknown>;
