import type { Schema } from "@cfworker/json-schema";

/**
 * The JSON Schema 2020-12 meta-schema, restated for @cfworker/json-schema: the same rules for
 * every keyword of the core, applicator, unevaluated, validation, meta-data, format-annotation and
 * content vocabularies, but recursing with a static `$ref: "#"` where the official one uses
 * `$dynamicRef: "#meta"`, which that validator does not evaluate (for a schema that extends no
 * vocabulary the two resolve to the same schema).
 */

const schema: Schema = { $ref: "#" };
const schemaArray: Schema = { type: "array", minItems: 1, items: schema };
const schemaMap: Schema = { type: "object", additionalProperties: schema };
const nonNegativeInteger: Schema = { type: "integer", minimum: 0 };
const stringSet: Schema = { type: "array", items: { type: "string" }, uniqueItems: true };
const simpleTypes: Schema = { enum: ["array", "boolean", "integer", "null", "number", "object", "string"] };
const anchor: Schema = { type: "string", pattern: "^[A-Za-z_][-A-Za-z0-9._]*$" };

export const META_SCHEMA_2020_12: Schema = {
  type: ["object", "boolean"],
  properties: {
    // core
    $id: { type: "string", format: "uri-reference", pattern: "^[^#]*#?$" },
    $schema: { type: "string", format: "uri" },
    $ref: { type: "string", format: "uri-reference" },
    $anchor: anchor,
    $dynamicRef: { type: "string", format: "uri-reference" },
    $dynamicAnchor: anchor,
    $vocabulary: { type: "object", propertyNames: { type: "string", format: "uri" }, additionalProperties: { type: "boolean" } },
    $comment: { type: "string" },
    $defs: schemaMap,
    // applicator
    prefixItems: schemaArray,
    items: schema,
    contains: schema,
    additionalProperties: schema,
    properties: schemaMap,
    patternProperties: { ...schemaMap, propertyNames: { format: "regex" } },
    dependentSchemas: schemaMap,
    propertyNames: schema,
    if: schema,
    then: schema,
    else: schema,
    allOf: schemaArray,
    anyOf: schemaArray,
    oneOf: schemaArray,
    not: schema,
    // unevaluated
    unevaluatedItems: schema,
    unevaluatedProperties: schema,
    // validation
    // Equivalent to the official anyOf of the two forms; as if/then/else a wrong name reports the enum.
    type: { type: ["string", "array"], if: { type: "string" }, then: simpleTypes, else: { items: simpleTypes, minItems: 1, uniqueItems: true } },
    const: true,
    enum: { type: "array", items: true },
    multipleOf: { type: "number", exclusiveMinimum: 0 },
    maximum: { type: "number" },
    exclusiveMaximum: { type: "number" },
    minimum: { type: "number" },
    exclusiveMinimum: { type: "number" },
    maxLength: nonNegativeInteger,
    minLength: nonNegativeInteger,
    pattern: { type: "string", format: "regex" },
    maxItems: nonNegativeInteger,
    minItems: nonNegativeInteger,
    uniqueItems: { type: "boolean" },
    maxContains: nonNegativeInteger,
    minContains: nonNegativeInteger,
    maxProperties: nonNegativeInteger,
    minProperties: nonNegativeInteger,
    required: stringSet,
    dependentRequired: { type: "object", additionalProperties: stringSet },
    // meta-data
    title: { type: "string" },
    description: { type: "string" },
    default: true,
    deprecated: { type: "boolean" },
    readOnly: { type: "boolean" },
    writeOnly: { type: "boolean" },
    examples: { type: "array", items: true },
    // format-annotation
    format: { type: "string" },
    // content
    contentEncoding: { type: "string" },
    contentMediaType: { type: "string" },
    contentSchema: schema,
    // kept by 2020-12's meta-schema for schemas written for earlier drafts
    definitions: schemaMap,
    dependencies: { type: "object", additionalProperties: { anyOf: [schema, stringSet] } },
  },
};
