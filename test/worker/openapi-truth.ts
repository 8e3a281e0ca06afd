import { Validator, type Schema } from "@cfworker/json-schema";

/**
 * Holds every API response a test sees to what /openapi.json says of its operation: the status
 * must be one the operation lists, and a JSON body must match the schema listed for that status
 * and content type. call() (helpers.ts) runs it on every response, so the whole suite checks the
 * document against what the routes really answer.
 */
interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  /** Literal segments count for more: /interventions/auto wins over /interventions/{id}. */
  specificity: number;
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Operation["responses"] }>>;
  components?: { schemas?: Record<string, Schema> };
}

const validators = new WeakMap<object, Validator>();

export class OpenApiTruth {
  private readonly operations: Operation[];
  private readonly defs: Record<string, Schema>;

  constructor(doc: OpenApiDocument) {
    // Component refs become $defs refs so the validator resolves them like any JSON Schema.
    this.defs = rewriteRefs(doc.components?.schemas ?? {}) as Record<string, Schema>;
    this.operations = Object.entries(doc.paths).flatMap(([template, methods]) =>
      Object.entries(methods).map(([method, op]) => ({
        method: method.toUpperCase(),
        template,
        pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`),
        specificity: template.split("/").filter((s) => s && !s.startsWith("{")).length,
        responses: op.responses,
      })),
    );
  }

  operation(method: string, path: string): Operation | undefined {
    return this.operations
      .filter((op) => op.method === method.toUpperCase() && op.pattern.test(path))
      .sort((a, b) => b.specificity - a.specificity)[0];
  }

  /** Why the response contradicts the document, or null when it does not (or no operation matches). */
  mismatch(method: string, path: string, status: number, contentType: string, body: unknown): string | null {
    const op = this.operation(method, path);
    if (!op) return null;
    const where = `${method} ${op.template} → ${status}`;
    const documented = op.responses[String(status)] ?? op.responses.default;
    if (!documented) return `${where}: status not listed (lists ${Object.keys(op.responses).join(", ")})`;
    if (body === "" || body === undefined) return null;
    const mediaType = contentType.split(";")[0]!.trim();
    const content = documented.content?.[mediaType];
    if (!content) return `${where}: content type ${mediaType} not listed (lists ${Object.keys(documented.content ?? {}).join(", ") || "no body"})`;
    if (!content.schema) return null;
    const result = this.validator(content.schema).validate(body);
    if (result.valid) return null;
    const errors = result.errors.slice(-3).map((e) => `${e.instanceLocation}: ${e.error}`);
    return `${where}: body does not match its schema: ${errors.join("; ")}`;
  }

  private validator(schema: Schema): Validator {
    let validator = validators.get(schema);
    if (!validator) {
      validator = new Validator({ ...(rewriteRefs(schema) as object), $defs: this.defs } as Schema, "2020-12", false);
      validators.set(schema, validator);
    }
    return validator;
  }
}

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, k === "$ref" && typeof v === "string" ? v.replace("#/components/schemas/", "#/$defs/") : rewriteRefs(v)]),
    );
  }
  return value;
}
