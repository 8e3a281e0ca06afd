import type { Program } from "../rhai";
import { compileCondition, evaluateCondition } from "../workflow-dsl";
import { NodeError } from "../workflow-errors";
import { nodeConfig } from "./config";
import type { NodeHandler } from "./types";

/**
 * SWITCH: the first case whose `when` is `true` chooses its `next`; else `default`; else none (the
 * instance ends after this node). Conditions are the DSL's (workflow-dsl.ts compileCondition and
 * evaluateCondition: Rhai over `input`, `globals` and `nodes`, `global` being a reserved word of
 * Rhai), so what the validator accepted is what runs. A `when` that fails or answers anything but
 * a boolean fails the node (VALIDATION_ERROR), never picks a branch by accident.
 */

/** Compiled conditions by source: an isolate compiles each once. */
const compiled = new Map<string, Program>();

function programOf(when: string, index: number): Program {
  let program = compiled.get(when);
  if (!program) {
    const result = compileCondition(when);
    if (!result.ok) throw new NodeError("VALIDATION_ERROR", `/config/cases/${index}/when ${result.message}`);
    program = result.program;
    compiled.set(when, program);
  }
  return program;
}

export const switchNode: NodeHandler = async (ctx, raw) => {
  const config = nodeConfig("SWITCH", raw);
  const vars = ctx.resolve({ input: "$.input", global: "$.global", nodes: "$.nodes" }) as { input: unknown; global: unknown; nodes: unknown };
  for (const [i, c] of config.cases.entries()) {
    const result = evaluateCondition(programOf(c.when, i), vars);
    if (!result.ok) throw new NodeError("VALIDATION_ERROR", `/config/cases/${i}/when: ${result.message}`);
    if (result.value) return { chosen: c.next, case: i };
  }
  return { chosen: config.default ?? null, case: -1 };
};
