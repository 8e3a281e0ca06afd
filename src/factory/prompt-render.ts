/**
 * Prompt templates (spec 003 §7.2): `{{a.b}}`, `{{#if a}}…{{else}}…{{/if}}` and
 * `{{#each list}}…{{this}} {{this.x}} {{@index}}…{{else}}…{{/each}}`, interpreted from a parsed tree
 * (Workers forbid eval and new Function, which template libraries compile to). No escaping: the
 * output is a prompt, not HTML. Syntax and semantics: docs/factory-llm.md.
 */

/** Why a template cannot be rendered; the route answers 422 naming `variable` or `position`. */
export class PromptRenderError extends Error {
  constructor(
    readonly kind: "syntax" | "missing_variable" | "not_a_list" | "too_large",
    message: string,
    /** The variable's path (`input_data.metrics.defect_rate`), for missing_variable and not_a_list. */
    readonly variable?: string,
    /** Offset of the offending tag in the template text, for syntax. */
    readonly position?: number,
  ) {
    super(message);
  }
}

/** prompt_templates.variables (§7.1): names that must be given, optional names, defaults. */
export interface TemplateVariables {
  required?: string[];
  optional?: string[];
  defaults?: Record<string, unknown>;
}

/** Rendered prompts stay well under any model's context; a bigger one is a runaway #each. */
export const MAX_RENDERED_CHARS = 256 * 1024;

export type Ref = { scope: "root" | "item"; path: string[]; text: string } | { scope: "index"; text: string };
/** A parsed template: parse once (e.g. to check a template when it is saved), render many times. */
export type PromptNode =
  | { type: "text"; text: string }
  | { type: "value"; ref: Ref }
  | { type: "if"; ref: Ref; then: PromptNode[]; otherwise: PromptNode[] }
  | { type: "each"; ref: Ref; body: PromptNode[]; otherwise: PromptNode[] };

const TAG = /\{\{\s*([\s\S]*?)\s*\}\}/g;
const SEGMENT = /^(?:[A-Za-z_][A-Za-z0-9_-]*|\d+)$/;

function parseRef(text: string, position: number, eachDepth: number): Ref {
  const fail = (why: string) => new PromptRenderError("syntax", `{{${text}}} at ${position}: ${why}`, undefined, position);
  if (text === "@index") {
    if (eachDepth === 0) throw fail("@index is only defined inside {{#each}}");
    return { scope: "index", text };
  }
  const path = text.split(".");
  if (!path.every((s) => SEGMENT.test(s))) throw fail("not a variable path (names and list indexes joined by dots)");
  if (path[0] !== "this") return { scope: "root", path, text };
  if (eachDepth === 0) throw fail("this is only defined inside {{#each}}");
  return { scope: "item", path: path.slice(1), text };
}

/** The template as a tree; throws PromptRenderError("syntax") naming the tag and its offset. */
export function parseTemplate(template: string): PromptNode[] {
  const root: PromptNode[] = [];
  // Open blocks, innermost last; `into` is where the next node goes (then/else, body/else).
  const stack: { node: Extract<PromptNode, { type: "if" | "each" }>; into: PromptNode[]; position: number }[] = [];
  const target = () => stack.at(-1)?.into ?? root;
  let last = 0;
  for (const match of template.matchAll(TAG)) {
    const position = match.index;
    if (position > last) target().push({ type: "text", text: template.slice(last, position) });
    last = position + match[0].length;
    const tag = match[1] ?? "";
    const eachDepth = stack.filter((s) => s.node.type === "each").length;
    const block = /^#(if|each)\s+(\S+)$/.exec(tag);
    if (block) {
      const ref = parseRef(block[2] ?? "", position, eachDepth);
      const node: Extract<PromptNode, { type: "if" | "each" }> =
        block[1] === "if" ? { type: "if", ref, then: [], otherwise: [] } : { type: "each", ref, body: [], otherwise: [] };
      target().push(node);
      stack.push({ node, into: node.type === "if" ? node.then : node.body, position });
    } else if (tag === "else") {
      const open = stack.at(-1);
      if (!open || open.into === open.node.otherwise) {
        throw new PromptRenderError("syntax", `{{else}} at ${position} is outside an {{#if}} or {{#each}}`, undefined, position);
      }
      open.into = open.node.otherwise;
    } else if (tag === "/if" || tag === "/each") {
      const open = stack.pop();
      if (!open || `/${open.node.type}` !== tag) {
        throw new PromptRenderError("syntax", `{{${tag}}} at ${position} closes no open {{#${tag.slice(1)}}}`, undefined, position);
      }
    } else {
      target().push({ type: "value", ref: parseRef(tag, position, eachDepth) });
    }
  }
  const unclosed = stack.at(-1);
  if (unclosed) {
    throw new PromptRenderError("syntax", `{{#${unclosed.node.type}}} at ${unclosed.position} is never closed`, undefined, unclosed.position);
  }
  if (last < template.length) root.push({ type: "text", text: template.slice(last) });
  return root;
}

interface Frame {
  item: unknown;
  index: number;
}

const MISSING = Symbol("missing");

/** Own properties only: a path never reaches `constructor`, `__proto__` or a prototype's members. */
function walk(value: unknown, path: string[]): unknown {
  let current = value;
  for (const segment of path) {
    if (current === null || typeof current !== "object" || !Object.hasOwn(current, segment)) return MISSING;
    current = (current as Record<string, unknown>)[segment];
  }
  return current === undefined ? MISSING : current;
}

function resolve(ref: Ref, data: Record<string, unknown>, frames: Frame[]): unknown {
  const frame = frames.at(-1);
  if (ref.scope === "index") return frame?.index;
  if (ref.scope === "item") return walk(frame?.item, ref.path);
  return walk(data, ref.path);
}

/** Handlebars' falsy values except 0: a measured zero is data, not absence. */
const truthy = (v: unknown) =>
  v !== MISSING && v !== null && v !== false && v !== "" && !(Array.isArray(v) && v.length === 0);

const show = (v: unknown) => (typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v));

/** The output so far, with its length kept so a runaway #each stops early. */
class Output {
  readonly parts: string[] = [];
  length = 0;
  push(text: string) {
    this.length += text.length;
    if (this.length > MAX_RENDERED_CHARS) {
      throw new PromptRenderError("too_large", `the rendered prompt exceeds ${MAX_RENDERED_CHARS} characters`);
    }
    this.parts.push(text);
  }
}

function renderNodes(nodes: PromptNode[], data: Record<string, unknown>, frames: Frame[], guarded: boolean, out: Output): void {
  for (const node of nodes) {
    switch (node.type) {
      case "text":
        out.push(node.text);
        break;
      case "value": {
        const value = resolve(node.ref, data, frames);
        if (value === MISSING) {
          // Inside an {{#if}} the author has said the data may be partial: a hole renders empty.
          if (guarded) break;
          throw new PromptRenderError("missing_variable", `missing variable ${node.ref.text}`, node.ref.text);
        }
        out.push(show(value));
        break;
      }
      case "if":
        renderNodes(truthy(resolve(node.ref, data, frames)) ? node.then : node.otherwise, data, frames, true, out);
        break;
      case "each": {
        const list = resolve(node.ref, data, frames);
        if (list !== MISSING && list !== null && !Array.isArray(list)) {
          throw new PromptRenderError("not_a_list", `${node.ref.text} is not a list`, node.ref.text);
        }
        if (!Array.isArray(list) || list.length === 0) {
          renderNodes(node.otherwise, data, frames, guarded, out);
          break;
        }
        list.forEach((item, index) => renderNodes(node.body, data, [...frames, { item, index }], guarded, out));
        break;
      }
    }
  }
}

/**
 * Fills `template` from `data`. Required: every name in `variables.required` (after `defaults`)
 * must be present and not null, and every `{{path}}` outside an `{{#if}}` must resolve; either
 * failing throws PromptRenderError("missing_variable") naming the first such variable.
 */
export function renderTemplate(template: string | PromptNode[], data: Record<string, unknown>, variables: TemplateVariables = {}): string {
  const tree = typeof template === "string" ? parseTemplate(template) : template;
  // fromEntries defines own properties: a "__proto__" key in the data stays data, never a prototype.
  const filled: Record<string, unknown> = Object.fromEntries([
    ...Object.entries(variables.defaults ?? {}),
    ...Object.entries(data).filter(([, value]) => value !== undefined),
  ]);
  for (const name of variables.required ?? []) {
    if (!Object.hasOwn(filled, name) || filled[name] === null) {
      throw new PromptRenderError("missing_variable", `missing required variable ${name}`, name);
    }
  }
  const out = new Output();
  renderNodes(tree, filled, [], false, out);
  return out.parts.join("");
}
