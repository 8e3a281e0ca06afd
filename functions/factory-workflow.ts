import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import type { Bindings } from "../src/platform/context";
import type { InstanceParams } from "../src/factory/workflow-engine";

/**
 * The factory's Cloudflare Workflows class (wrangler.toml [[workflows]], binding FACTORY_WORKFLOW):
 * one instance per workflow_instances row. Thin: the engine (src/factory/workflow-engine.ts) loads
 * with the first instance, so a Worker's startup evaluates none of it.
 */
export class FactoryWorkflow extends WorkflowEntrypoint<Bindings, InstanceParams> {
  async run(event: Readonly<WorkflowEvent<InstanceParams>>, step: WorkflowStep) {
    const { runWorkflow } = await import("../src/factory/workflow-engine");
    return runWorkflow(this.env, event, step);
  }
}
