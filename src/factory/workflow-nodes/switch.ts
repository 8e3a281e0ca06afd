import { compile, run, type Program } from "../rhai";
import { NodeError } from "../workflow-errors";
import type { NodeHandler } from "./types";

/**
 * SWITCH: the first case whose `when` (a Rhai expression over `input`, `globals` and `nodes`,
 * run by the rules' interpreter, src/factory/rhai) is `true` chooses its `next`; else `default`;
 * `global` is a reserved word of Rhai, so the global variables are `globals` there (`$.global`
 * in paths);
 * else none (the instance ends after this node). A `when` that does not compile, fails or answers
 * anything but a boolean fails the node (VALIDATION_ERROR), never picks a branch by accident.
 */

interface Case {
  when: string;
  next: string;
}

const compiled = new Map<string, Program>();

function programOf(source: string, index: number): Program {
  let program = compiled.get(source);
  if (!program) {
    const result = compile(source);
    if (!result.ok) throw new NodeError("VALIDATION_ERROR", `config.cases[${index}].when does not compile: ${result.error.message}`);
    program = result.program;
    compiled.set(source, program);
  }
  return program;
}

export const switchNode: NodeHandler = async (ctx, config) => {
  const cases = config.cases as Case[] | undefined;
  if (!Array.isArray(cases)) throw new NodeError("VALIDATION_ERROR", "config.cases must be an array");
  const scope = ctx.resolve({ input: "$.input", globals: "$.global", nodes: "$.nodes" }) as Record<string, unknown>;
  for (const [i, c] of cases.entries()) {
    const result = run(programOf(c.when, i), null, scope);
    if (!result.ok) throw new NodeError("VALIDATION_ERROR", `config.cases[${i}].when failed: ${result.error.message}`);
    if (typeof result.value !== "boolean") throw new NodeError("VALIDATION_ERROR", `config.cases[${i}].when must answer a boolean`);
    if (result.value) return { chosen: c.next, case: i };
  }
  const fallback = typeof config.default === "string" ? config.default : null;
  return { chosen: fallback, case: -1 };
};
