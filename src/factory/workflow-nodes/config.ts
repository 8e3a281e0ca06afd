import type { z } from "zod";
import { NODE_CONFIGS, type NodeConfig, type NodeType } from "../workflow-dsl-schema";
import { NodeError } from "../workflow-errors";

/** A JSON pointer under /config from a zod issue path. */
export const configPointer = (path: readonly PropertyKey[]) => `/config${path.map((p) => `/${String(p).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("")}`;

/** zod's refusals as a VALIDATION_ERROR naming the JSON pointer of each under /config. */
export function configRefusal(issues: z.ZodError["issues"], prefix: readonly PropertyKey[] = []): NodeError {
  const errors = issues.map((i) => ({ pointer: configPointer([...prefix, ...i.path]), message: i.message }));
  return new NodeError("VALIDATION_ERROR", errors.map((e) => `${e.pointer}: ${e.message}`).join("; "), { errors });
}

/**
 * A node's config as the DSL's schema (workflow-dsl-schema.ts NODE_CONFIGS) reads it: the one
 * meaning of every node config, for the validator at POST /workflows and for the handler at run
 * time. Mappings stay unresolved here; each handler resolves the fields the DSL says are mappings.
 * A stored definition passed the validator, so a refusal here means a row older than a schema change.
 */
export function nodeConfig<T extends NodeType>(type: T, config: unknown): NodeConfig<T> {
  const parsed = NODE_CONFIGS[type].safeParse(config);
  if (!parsed.success) throw configRefusal(parsed.error.issues);
  return parsed.data as NodeConfig<T>;
}
