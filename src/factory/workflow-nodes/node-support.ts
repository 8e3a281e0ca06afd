import type { BatchItem } from "drizzle-orm/batch";
import { loadConfig } from "../../platform/config";
import { ApiError } from "../../platform/problem";
import { createRedis } from "../../platform/redis";
import { authorizeStatement, refusalOf } from "../access";
import type { Actor } from "../audit";
import { bumpInputsGeneration, changesJudgmentInputs } from "../inputs-generation";
import { nodeRequestId } from "../workflow-context";
import { NodeError, type NodeErrorCode } from "../workflow-errors";
import type { BatchResults, NodeContext } from "./types";

/**
 * What the node handlers of DATA, JUDGMENT, DEPLOY, ROLLBACK and SIMULATE share: the routes' own
 * permission check in each batch, their problems as node errors, the config check, the timeout.
 */

/**
 * ctx.run with factory.authorize(`permission`) first, as the route doing the same work has it
 * (runFactory): an inactive or locked actor, a suspended tenant or a missing permission stops the
 * batch before anything is read or written (the 403 ApiError refusalOf() makes; nodeErrorOf()
 * says FORBIDDEN). And as there, a write that can change a judgment's inputs (a DEPLOY or
 * ROLLBACK moving deployments) bumps the tenant's inputs generation, so the next judgment reads it.
 */
export async function authorizedRun<T extends readonly BatchItem<"pg">[]>(ctx: NodeContext, permission: string, statements: T): Promise<BatchResults<T>> {
  let results: unknown[];
  try {
    [, ...results] = await ctx.run([authorizeStatement(ctx.db, permission), ...statements] as const);
  } catch (err) {
    throw refusalOf(err) ?? err;
  }
  if (changesJudgmentInputs(permission)) {
    const config = loadConfig(ctx.env);
    await bumpInputsGeneration(createRedis(config, nodeRequestId(ctx.instanceId, ctx.nodeId)), config, ctx.tenantId);
  }
  return results as unknown as BatchResults<T>;
}

/** The audit actor of a node's writes: the instance's actor, with the instance's trace id (no IP or user agent: no request). */
export function nodeActor(ctx: NodeContext): Actor {
  const id = actorOf(ctx);
  return { id, type: "user", subject: id, origin: { ip: null, userAgent: null, traceId: ctx.traceId } };
}

/** The instance's actor; a node that acts as a user cannot run without one. */
export function actorOf(ctx: NodeContext): string {
  if (!ctx.actorUserId) throw new NodeError("FORBIDDEN", "the instance has no actor (the workflow has no created_by): nodes that act as a user cannot run");
  return ctx.actorUserId;
}

const BY_STATUS: Record<number, NodeErrorCode> = { 400: "VALIDATION_ERROR", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "VALIDATION_ERROR", 422: "VALIDATION_ERROR", 429: "RATE_LIMIT", 502: "UPSTREAM_ERROR", 504: "TIMEOUT" };

/** A problem the route would have answered, as the node error it means; NodeErrors pass; anything else is the engine's (INTERNAL). */
export function nodeErrorOf(err: unknown): unknown {
  if (err instanceof ApiError) return new NodeError(BY_STATUS[err.status] ?? "INTERNAL", err.detail, { problem: err.code, status: err.status, ...err.extensions });
  return err;
}

/** `work`, unless the node's timeout fires first: then TIMEOUT (the work itself is left to its own limit). */
export function untilTimeout<T>(ctx: NodeContext, work: Promise<T>): Promise<T> {
  const timedOut = () => new NodeError("TIMEOUT", `node ${ctx.nodeId} ran past its timeout`);
  if (ctx.signal.aborted) return Promise.reject(timedOut());
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(timedOut());
    ctx.signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => ctx.signal.removeEventListener("abort", onAbort));
}

/** A row as JSON (dates as ISO text): what a node result stores in runtime_context and logs. */
export const asJson = <T>(row: T): unknown => JSON.parse(JSON.stringify(row));
