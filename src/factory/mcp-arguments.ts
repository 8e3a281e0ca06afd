import { Validator, type OutputUnit, type Schema, type SchemaDraft } from "@cfworker/json-schema";

/**
 * A tool call's arguments checked against the tool's input schema (as discovery stored it) before
 * anything is sent, by @cfworker/json-schema, which interprets schemas instead of compiling them
 * (workerd forbids the `new Function` ajv compiles with). The draft follows the schema's `$schema`
 * (zod-to-json-schema, common in MCP servers, writes draft-07); 2020-12 otherwise.
 */

export interface ArgumentFault {
  /** JSON pointer inside the arguments ("" for the whole object). */
  pointer: string;
  message: string;
}

function draftOf(schema: Record<string, unknown>): SchemaDraft {
  const uri = typeof schema.$schema === "string" ? schema.$schema : "";
  if (uri.includes("draft-04")) return "4";
  if (uri.includes("draft-07") || uri.includes("draft-06")) return "7";
  if (uri.includes("2019-09")) return "2019-09";
  return "2020-12";
}

/** The errors that say what is wrong: not the "a subschema failed" wrappers above them. */
const leaves = (errors: OutputUnit[]) => errors.filter((e) => !errors.some((o) => o !== e && o.keywordLocation.startsWith(`${e.keywordLocation}/`)));

/** Faults of `args` against `schema` (at most 20); empty when they are valid. */
export function argumentFaults(schema: Record<string, unknown>, args: Record<string, unknown>): ArgumentFault[] {
  let result;
  try {
    result = new Validator(structuredClone(schema) as Schema, draftOf(schema), false).validate(args);
  } catch (err) {
    return [{ pointer: "", message: `cannot be checked: the tool's input schema fails on this input (${(err as Error).message.split("\n")[0]})` }];
  }
  if (result.valid) return [];
  return leaves(result.errors)
    .slice(0, 20)
    .map((e) => ({ pointer: decodeURIComponent(e.instanceLocation.replace(/^#/, "")), message: e.error }));
}

/** A JSON pointer as the dotted field path the API's 422s name (json.arguments + /a/0 → json.arguments.a.0). */
export const fieldPath = (root: string, pointer: string) => [root, ...pointer.split("/").slice(1).map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"))].join(".");
