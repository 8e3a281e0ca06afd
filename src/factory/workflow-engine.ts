import type { WorkflowEvent, WorkflowStep, WorkflowStepConfig } from "cloudflare:workers";
import { NonRetryableError } from "cloudflare:workflows";
import type { BatchItem } from "drizzle-orm/batch";
import { servicePrincipal, type Principal } from "../platform/auth";
import type { Bindings } from "../platform/context";
import { backgroundDatabase, runAs, type Database } from "../platform/db";
import { log } from "../platform/log";
import { relayOutbox } from "../platform/relay";
import { namesCredential } from "./public-headers";
import { NODE_HANDLERS } from "./workflow-nodes";
import { approvalConfig, approvalEventType, approvalOutcome, type Decision } from "./workflow-nodes/approval";
import { branchesOf } from "./workflow-nodes/parallel";
import { waitTarget } from "./workflow-nodes/wait";
import { asNodeError, decodeNodeError, encodeNodeError, NodeError } from "./workflow-errors";
import { actorPrincipal, nodeContextFor } from "./workflow-context";
import { resolveMapping, type RuntimeVariables } from "./workflow-paths";
import {
  awaitApproval,
  beginStatements,
  countRetry,
  finishStatement,
  logRows,
  logUpsert,
  mirrorUpdate,
  settleApproval,
  type Definition,
  type LogWrite,
} from "./workflow-run-sql";
import { retryPolicyOf, type FullRetryPolicy, type WorkflowDefinition, type WorkflowNode } from "./workflow-dsl";
import type { NodeConfig } from "./workflow-dsl-schema";

/** What a Cloudflare Workflows instance of the factory is created with (src/factory/workflow-start.ts). */
export interface InstanceParams {
  instanceId: string;
  tenantId: string;
  workflowId: string;
  /** Whose identity the instance acts with: the user who started it, else the workflow's creator; null: the service role. */
  actorUserId: string | null;
  traceId: string;
}

/** Step timeouts are the node's own plus this, so the node's own timeout (a logged TIMEOUT) fires first. */
const STEP_GRACE_MS = 15_000;
/** Codes retried when a node has no retry_policy (then workflows.max_retry retries, 1 s apart and doubling). */
const TRANSIENT = ["TIMEOUT", "NETWORK_ERROR", "RATE_LIMIT"];
/** Marks an error the engine threw for a failed node, so it is told from the runtime's own (a pause aborts steps too). */
const NODE_FAILURE = "WF_NODE ";

class DeadlinePassed extends Error {}

/** A node's resolved input as logged: members whose name says they carry a credential (an MCP argument, an ACTION body's token) never reach a log row. */
function redacted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redacted);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, namesCredential(k) ? "[redacted]" : redacted(v)]));
  return value;
}

const LOG_JSON_LIMIT = 64 * 1024;
/** What a log row keeps of a value: itself, or a note when it is larger than 64 KiB as JSON. */
const capped = (value: unknown) => {
  const text = JSON.stringify(value ?? null);
  return text.length > LOG_JSON_LIMIT ? { truncated: true, bytes: text.length } : (value ?? null);
};

interface NodeOutcome {
  next: string | null;
  stop: boolean;
}

interface Compensation {
  nodeId: string;
  target: string;
  do: NodeConfig<"COMPENSATION">["do"];
}

/** The undo a COMPENSATION node registers when it completes (null for any other node). */
function compensationOf(node: WorkflowNode): Compensation | null {
  if (node.type !== "COMPENSATION") return null;
  return { nodeId: node.id, target: node.config.target, do: node.config.do };
}

/**
 * Runs one workflow instance as Cloudflare Workflows steps (docs/factory-workflows.md,
 * "Execution"): `begin` reads the definition, then each node is a durable step named by its id
 * that writes its log row and the instance's mirror in one batch. Node results are kept in
 * memory and rebuilt on every replay from the steps' cached outputs, so everything decided
 * outside a step is deterministic.
 */
export class WorkflowRun {
  private readonly db: Database;
  private readonly principal: Principal;
  private def!: Definition;
  private nodes = new Map<string, WorkflowNode>();
  private mainOrder: string[] = [];
  private scope: RuntimeVariables = { input: {}, global: {}, nodes: {} };
  private compensations: Compensation[] = [];
  private deadline = 0;

  constructor(
    private readonly env: Bindings,
    private readonly p: InstanceParams,
    private readonly step: WorkflowStep,
  ) {
    // One request id per instance: the local endpoints count its round trips (tests, bench).
    this.db = backgroundDatabase(env, "wf", `wf-${p.instanceId}`).db;
    this.principal = p.actorUserId
      ? actorPrincipal(p.tenantId, p.actorUserId)
      : servicePrincipal("a9e47000-0000-4000-8000-00000000f312");
  }

  private run<T extends readonly BatchItem<"pg">[]>(statements: T) {
    return runAs(this.db, this.principal, statements);
  }

  async execute(): Promise<{ status: string }> {
    this.def = (await this.step.do("begin", async () => {
      const [, , read] = await this.run(beginStatements(this.db, this.p.instanceId));
      const definition = read.rows[0]?.definition;
      if (!definition) throw new NonRetryableError(`instance ${this.p.instanceId} is not visible to its actor`);
      return definition as never;
    })) as Definition;
    if (!["RUNNING", "PAUSED"].includes(this.def.status)) return { status: this.def.status };
    const dsl = this.def.dsl as WorkflowDefinition;
    for (const node of dsl.nodes) this.nodes.set(node.id, node);
    const members = new Set(dsl.nodes.filter((n) => n.type === "PARALLEL").flatMap((n) => branchesOf(n).flatMap((b) => b.nodes)));
    this.mainOrder = dsl.nodes.map((n) => n.id).filter((id) => !members.has(id));
    this.scope = { input: this.def.input, global: this.def.global, nodes: {} };
    this.deadline = Date.parse(this.def.startedAt) + this.def.timeoutSeconds * 1000;
    try {
      let current: string | null = this.mainOrder[0] ?? null;
      while (current) {
        const outcome = await this.runNode(current, this.mainNext(current), true);
        if (outcome.stop) return { status: "STOPPED" };
        current = outcome.next;
      }
      await this.flushEvents();
      return { status: "COMPLETED" };
    } catch (err) {
      const failure = err instanceof DeadlinePassed ? new NodeError("TIMEOUT", `the instance ran past its ${this.def.timeoutSeconds} s timeout`) : this.failureOf(err);
      const status = err instanceof DeadlinePassed || Date.now() >= this.deadline ? "TIMEOUT" : "FAILED";
      await this.compensate();
      await this.step.do("end", async () => {
        await this.run([finishStatement(this.db, this.p.instanceId, status, { code: failure.code, message: failure.message })] as const);
        return status;
      });
      await this.flushEvents();
      return { status };
    }
  }

  /**
   * The events the instance wrote (its end, its JUDGMENT nodes' results) sent to the queue now,
   * not at the next minute's relay; a failure leaves them to that relay. Its own request id: it
   * is no step's round trip.
   */
  private async flushEvents() {
    try {
      await relayOutbox(this.env, { requestId: `wf-${this.p.instanceId}:relay`, actorId: this.principal.userId, systems: ["factory"] });
    } catch (err) {
      log("warn", "workflow events not relayed; the minute's relay sends them", { instanceId: this.p.instanceId, error: String(err) });
    }
  }

  /** A node's failure as thrown by its step; anything else (the runtime pausing or terminating the instance) is rethrown. */
  private failureOf(err: unknown): NodeError {
    const message = (err as Error)?.message ?? "";
    const at = message.indexOf(NODE_FAILURE);
    if (at < 0) throw err;
    return decodeNodeError(message.slice(at + NODE_FAILURE.length));
  }

  /** The main path's next node after `id`: its `next` when given (null ends), else the next main-path node in array order. */
  private mainNext(id: string): string | null {
    const node = this.nodes.get(id)!;
    if (node.next !== undefined) return node.next;
    return this.mainOrder[this.mainOrder.indexOf(id) + 1] ?? null;
  }

  private checkDeadline() {
    if (Date.now() >= this.deadline) throw new DeadlinePassed();
  }

  private async runNode(id: string, next: string | null, onMainPath: boolean): Promise<NodeOutcome> {
    this.checkDeadline();
    const node = this.nodes.get(id)!;
    if (node.type === "WAIT") return this.runWait(node, next, onMainPath);
    if (node.type === "APPROVAL") return this.runApproval(node, next, onMainPath);
    if (node.type === "PARALLEL") return this.runParallel(node, next, onMainPath);
    return this.runHandler(node, next, onMainPath);
  }

  private policyOf(node: WorkflowNode): FullRetryPolicy {
    return (this.def.steps[node.id]?.retryPolicy as FullRetryPolicy | undefined) ?? retryPolicyOf(node, this.def.maxRetry);
  }

  private timeoutMs(node: WorkflowNode) {
    return (this.def.steps[node.id]?.timeoutSeconds ?? node.timeout_seconds ?? 60) * 1000;
  }

  private stepConfig(node: WorkflowNode): WorkflowStepConfig {
    const policy = this.policyOf(node);
    return {
      retries: { limit: policy.max_attempts - 1, delay: policy.initial_delay_ms, backoff: "exponential" },
      timeout: this.timeoutMs(node) + STEP_GRACE_MS,
    };
  }

  /** A handler's context: the one nodeContextFor builds (its database calls are counted under the node's request id). */
  private context(nodeId: string, signal: AbortSignal) {
    const { tenantId, actorUserId, workflowId, instanceId, traceId } = this.p;
    return nodeContextFor(this.env, { tenantId, actorUserId, workflowId, instanceId, nodeId, traceId, variables: this.scope, signal });
  }

  private log(w: Omit<LogWrite, "instanceId" | "workflowId">) {
    return logUpsert(this.db, { instanceId: this.p.instanceId, workflowId: this.p.workflowId, ...w });
  }

  /**
   * The batch that ends a node: its log row COMPLETED, the rows of the nodes that run next
   * (RUNNING) and of SWITCH branches not taken (SKIPPED), the instance's mirror. One round trip.
   */
  private async complete(
    nodeId: string,
    result: unknown,
    next: string[],
    opts: { final: boolean; skipped?: string[]; input?: unknown; attempt?: number; startedAt?: number; registers?: Compensation },
  ) {
    const statements = [
      this.log({ nodeId, phase: "run", status: "COMPLETED", input: opts.input, output: capped(result), attempt: opts.attempt, startedAt: opts.startedAt, durationMs: opts.startedAt === undefined ? undefined : Date.now() - opts.startedAt }),
      ...(next.length ? [logRows(this.db, this.p.instanceId, this.p.workflowId, next, "RUNNING")] : []),
      ...(opts.skipped?.length ? [logRows(this.db, this.p.instanceId, this.p.workflowId, opts.skipped, "SKIPPED")] : []),
      mirrorUpdate(this.db, { instanceId: this.p.instanceId, workflowId: this.p.workflowId, nodeId, result: capped(result), next, compensations: opts.registers ? [...this.compensations, opts.registers] : this.compensations, final: opts.final }),
    ];
    const results = (await this.run(statements as unknown as readonly BatchItem<"pg">[])) as unknown as { rows: { status: string }[] }[];
    return { stop: !results.at(-1)!.rows.length };
  }

  /** A node run by its handler, as one durable step with the node's timeout and retry policy. */
  private async runHandler(node: WorkflowNode, defaultNext: string | null, onMainPath: boolean): Promise<NodeOutcome> {
    const handler = NODE_HANDLERS[node.type as keyof typeof NODE_HANDLERS];
    const policy = this.policyOf(node);
    const out = (await this.step.do(node.id, this.stepConfig(node), async (sctx) => {
      const startedAt = Date.now();
      const attempt = sctx.attempt;
      const input = capped(redacted(resolveMapping(node.config, this.scope)));
      const remaining = this.deadline - startedAt;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), Math.max(0, Math.min(this.timeoutMs(node), remaining)));
      try {
        if (remaining <= 0) throw new NodeError("TIMEOUT", "the instance's timeout passed before the node ran");
        const aborted = new Promise<never>((_, reject) =>
          controller.signal.addEventListener("abort", () => reject(new NodeError("TIMEOUT", `the node did not finish within ${Math.round(Math.min(this.timeoutMs(node), remaining) / 1000)} s`))),
        );
        const result = (await Promise.race([handler(this.context(node.id, controller.signal), node.config), aborted])) ?? null;
        const routed = this.routeAfter(node, result, defaultNext, onMainPath);
        const { stop } = await this.complete(node.id, result, routed.next ? [routed.next] : [], {
          final: onMainPath && routed.next === null,
          skipped: routed.skipped,
          input,
          attempt: attempt - 1,
          startedAt,
          registers: compensationOf(node) ?? undefined,
        });
        return { result, next: routed.next, stop } as never;
      } catch (err) {
        const failure = asNodeError(err);
        const retry = attempt < policy.max_attempts && policy.retry_on_errors.includes(failure.code);
        await this.run([
          this.log({ nodeId: node.id, phase: "run", status: retry ? "RETRYING" : "FAILED", input, error: { code: failure.code, message: failure.message }, attempt: attempt - 1, startedAt, durationMs: Date.now() - startedAt }),
          ...(retry ? [countRetry(this.db, this.p.instanceId)] : []),
        ] as const);
        const message = NODE_FAILURE + encodeNodeError(failure);
        throw retry ? new Error(message) : new NonRetryableError(message);
      } finally {
        clearTimeout(timer);
      }
    })) as unknown as { result: unknown; next: string | null; stop: boolean };
    this.scope.nodes[node.id] = { result: out.result, status: "completed" };
    const registered = compensationOf(node);
    if (registered) this.compensations.push(registered);
    return { next: out.next, stop: out.stop };
  }

  /** Where the flow goes after a node: a SWITCH's choice (the other targets SKIPPED), else the default. */
  private routeAfter(node: WorkflowNode, result: unknown, defaultNext: string | null, onMainPath: boolean) {
    if (node.type !== "SWITCH" || !onMainPath) return { next: defaultNext, skipped: [] as string[] };
    const chosen = (result as { chosen: string | null }).chosen;
    const config = node.config;
    const targets = [...config.cases.map((c) => c.next), ...(config.default ? [config.default] : [])];
    return { next: chosen, skipped: [...new Set(targets.filter((t) => t !== chosen))] };
  }

  /** WAIT: a durable sleep (never past the instance's deadline), then its completion. */
  private async runWait(node: WorkflowNode, next: string | null, onMainPath: boolean): Promise<NodeOutcome> {
    const target = waitTarget(node.config);
    if ("until" in target) {
      // A time already past is no wait (the engine refuses to sleep until the past).
      const wakeAt = Math.min(target.until, this.deadline);
      if (wakeAt > Date.now()) await this.step.sleepUntil(`${node.id}_sleep`, wakeAt);
    } else await this.step.sleep(`${node.id}_sleep`, Math.max(0, Math.min(target.ms, this.deadline - Date.now())));
    this.checkDeadline();
    const result = "until" in target ? { until: new Date(target.until).toISOString() } : { seconds: target.ms / 1000 };
    const { stop } = (await this.step.do(node.id, async () => this.complete(node.id, result, next ? [next] : [], { final: onMainPath && next === null, input: node.config }))) as { stop: boolean };
    this.scope.nodes[node.id] = { result, status: "completed" };
    return { next, stop };
  }

  /**
   * APPROVAL: the instance WAITING with the request under metadata.approval, then a durable wait
   * for the decision event (at most the node's timeout and the instance's deadline). The decision
   * of record is the database's (settleApproval): a decision recorded whose event was lost still
   * counts; none is `timed_out`, which on_timeout turns into an approval or a rejection.
   */
  private async runApproval(node: WorkflowNode, next: string | null, onMainPath: boolean): Promise<NodeOutcome> {
    const config = approvalConfig(node.config);
    const waitMs = Math.max(1000, Math.min(config.timeout_seconds * 1000, this.deadline - Date.now()));
    const requested = (await this.step.do(`${node.id}_request`, async () => {
      const [row] = await this.run([
        awaitApproval(this.db, this.p.instanceId, this.p.workflowId, { node_id: node.id, message: config.message ?? null, approvers: config.approvers ?? null, deadline: new Date(Date.now() + waitMs).toISOString(), decision: null }),
      ] as const);
      return { stop: !row.rows.length };
    })) as { stop: boolean };
    if (requested.stop) return { next: null, stop: true };
    let decided: Decision | null = null;
    try {
      decided = (await this.step.waitForEvent<Decision>(`${node.id}_decision`, { type: approvalEventType(node.id), timeout: waitMs })).payload as Decision;
    } catch (err) {
      this.failureOrTimeout(err);
    }
    const out = (await this.step.do(node.id, async () => {
      let decision = decided;
      if (!decision) {
        const [, read] = await this.run(settleApproval(this.db, this.p.instanceId, node.id));
        decision = (read.rows[0]?.approval ?? null) as Decision | null;
      }
      const result = { decision: decision?.decision ?? "timed_out", by: decision?.by ?? null, at: decision?.at ?? null, comment: decision?.comment ?? null };
      const outcome = approvalOutcome(config, result.decision);
      if (outcome === "fail") {
        const error = { code: "REJECTED", message: result.decision === "timed_out" ? "the approval timed out (on_timeout: reject)" : `rejected by ${result.by ?? "an approver"}` };
        await this.run([this.log({ nodeId: node.id, phase: "run", status: "FAILED", output: result, error })] as const);
        return { result, failed: error.message, stop: false };
      }
      const { stop } = await this.complete(node.id, result, next ? [next] : [], { final: onMainPath && next === null, input: node.config });
      return { result, failed: null, stop };
    })) as { result: unknown; failed: string | null; stop: boolean };
    this.scope.nodes[node.id] = { result: out.result, status: out.failed ? "failed" : "completed" };
    if (out.failed) throw new Error(NODE_FAILURE + encodeNodeError(new NodeError("REJECTED", out.failed)));
    return { next, stop: out.stop };
  }

  /** A waitForEvent that timed out is a normal outcome (the decision is settled next); anything else (a pause) is rethrown. */
  private failureOrTimeout(err: unknown) {
    const name = (err as Error)?.name ?? "";
    const message = (err as Error)?.message ?? "";
    if (/timeout|timed out/i.test(`${name} ${message}`)) return;
    throw err;
  }

  /**
   * PARALLEL: the branches' first nodes logged RUNNING (one step), each branch's nodes run in
   * order, branches at once; when all have settled the first failure fails the node, else its
   * result is every branch's node results and the flow goes on.
   */
  private async runParallel(node: WorkflowNode, next: string | null, onMainPath: boolean): Promise<NodeOutcome> {
    const branches = branchesOf(node);
    const firsts = branches.map((b) => b.nodes[0]).filter((id): id is string => !!id);
    await this.step.do(`${node.id}_fork`, async () => {
      await this.run([logRows(this.db, this.p.instanceId, this.p.workflowId, firsts, "RUNNING")] as const);
      return true;
    });
    const settled = await Promise.allSettled(
      branches.map(async (b) => {
        for (const [i, id] of b.nodes.entries()) {
          const outcome = await this.runNode(id, b.nodes[i + 1] ?? null, false);
          if (outcome.stop) return true;
        }
        return false;
      }),
    );
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    if (settled.some((s) => (s as PromiseFulfilledResult<boolean>).value)) return { next: null, stop: true };
    const result = Object.fromEntries(branches.map((b) => [b.name, Object.fromEntries(b.nodes.map((id) => [id, this.scope.nodes[id]?.result ?? null]))]));
    const { stop } = (await this.step.do(node.id, async () => this.complete(node.id, result, next ? [next] : [], { final: onMainPath && next === null, input: node.config }))) as { stop: boolean };
    this.scope.nodes[node.id] = { result, status: "completed" };
    return { next, stop };
  }

  /**
   * The saga: the undos registered so far, last first, each a durable step (two retries) logged as
   * its COMPENSATION node's `undo` row. A failed undo is logged and the others still run.
   */
  private async compensate() {
    for (const c of [...this.compensations].reverse()) {
      const handler = NODE_HANDLERS[c.do.type];
      await this.step
        .do(`${c.nodeId}_undo`, { retries: { limit: 2, delay: 1000, backoff: "exponential" }, timeout: 60_000 + STEP_GRACE_MS }, async (sctx) => {
          const startedAt = Date.now();
          const controller = new AbortController();
          const timer = setTimeout(() => controller.abort(), 60_000);
          const metadata = { phase: "compensate", target: c.target, type: c.do.type };
          const input = capped(redacted(resolveMapping(c.do.config, this.scope)));
          try {
            const result = (await handler(this.context(c.nodeId, controller.signal), c.do.config)) ?? null;
            await this.run([this.log({ nodeId: c.nodeId, phase: "undo", status: "COMPLETED", input, output: capped(result), attempt: sctx.attempt - 1, startedAt, durationMs: Date.now() - startedAt, metadata })] as const);
            return true;
          } catch (err) {
            const failure = asNodeError(err);
            const retry = sctx.attempt < 3 && TRANSIENT.includes(failure.code);
            await this.run([this.log({ nodeId: c.nodeId, phase: "undo", status: retry ? "RETRYING" : "FAILED", input, error: { code: failure.code, message: failure.message }, attempt: sctx.attempt - 1, startedAt, durationMs: Date.now() - startedAt, metadata })] as const);
            const message = NODE_FAILURE + encodeNodeError(failure);
            throw retry ? new Error(message) : new NonRetryableError(message);
          } finally {
            clearTimeout(timer);
          }
        })
        .catch((err) => this.failureOf(err));
    }
  }
}

/** The Workflows entry point's whole job (functions/factory-workflow.ts). */
export function runWorkflow(env: Bindings, event: Readonly<WorkflowEvent<InstanceParams>>, step: WorkflowStep) {
  return new WorkflowRun(env, event.payload, step).execute();
}
