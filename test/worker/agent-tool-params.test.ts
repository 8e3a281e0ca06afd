import { Validator } from "@cfworker/json-schema";
import { describe, expect, it } from "vitest";
import { DRAFT_2020_12, MAX_FAULTS, parametersSchemaFaults, toolParamsChecker } from "../../src/agent/tool-params";

const sqlQuery = {
  name: "sql_query",
  parametersSchema: {
    $schema: DRAFT_2020_12,
    type: "object",
    properties: {
      query: { type: "string", minLength: 1 },
      limit: { type: "integer", minimum: 1, maximum: 1000 },
      tags: { type: "array", items: { type: "string" } },
      window: { $ref: "#/$defs/window" },
      "a/b~c": { type: "boolean" },
    },
    required: ["query"],
    additionalProperties: false,
    $defs: { window: { type: "object", properties: { from: { type: "string", format: "date" } }, required: ["from"] } },
  },
};

const pointersOf = (faults: { pointer: string }[]) => faults.map((f) => f.pointer);

describe("parameters_schema is a JSON Schema 2020-12", () => {
  it("accepts schemas using the 2020-12 vocabularies", () => {
    const schemas: unknown[] = [
      {},
      sqlQuery.parametersSchema,
      { type: ["object", "null"], minProperties: 1, maxProperties: 3, propertyNames: { pattern: "^[a-z]+$" } },
      { properties: { xs: { type: "array", prefixItems: [{ type: "integer" }], items: false, contains: { const: 1 }, minContains: 1, maxContains: 2, uniqueItems: true } } },
      { patternProperties: { "^x-": { type: "string" } }, unevaluatedProperties: false, dependentRequired: { a: ["b"] }, dependentSchemas: { a: { required: ["c"] } } },
      { if: { properties: { kind: { const: "csv" } } }, then: { required: ["path"] }, else: { not: { required: ["path"] } } },
      { allOf: [{ title: "t", description: "d", default: {}, examples: [{}], deprecated: false, readOnly: false, writeOnly: false }], oneOf: [true, { required: ["z"] }], anyOf: [true] },
      { properties: { n: { type: "number", multipleOf: 0.5, exclusiveMinimum: 0, exclusiveMaximum: 10 }, e: { enum: ["a", 1, null] }, s: { contentMediaType: "application/json", contentEncoding: "base64", contentSchema: {} } } },
      { $id: "https://tools.example/sql", $anchor: "top", $comment: "ok", properties: { self: { $ref: "#top" }, again: { $ref: "https://tools.example/sql" } } },
      { definitions: { old: { type: "string" } }, properties: { o: { $ref: "#/definitions/old" } }, dependencies: { a: ["b"], c: { required: ["d"] } } },
    ];
    for (const schema of schemas) expect(parametersSchemaFaults(schema), JSON.stringify(schema)).toEqual([]);
  });

  it("accepts [] as a tool without parameters, and refuses any other list", () => {
    expect(parametersSchemaFaults([])).toEqual([]);
    const [fault] = parametersSchemaFaults([{ name: "query", type: "string" }]);
    expect(fault).toMatchObject({ path: "json.parametersSchema", pointer: "" });
    expect(fault!.message).toContain("[]");
  });

  it("refuses what is not a schema object, booleans included", () => {
    for (const schema of [null, "object", 3, true, false]) {
      expect(parametersSchemaFaults(schema).map((f) => f.path), JSON.stringify(schema)).toEqual(["json.parametersSchema"]);
    }
  });

  it("refuses keyword values the 2020-12 meta-schema forbids, naming the JSON pointer", () => {
    const cases: [unknown, string][] = [
      [{ type: "strin" }, "/type"],
      [{ type: ["object", "object"] }, "/type"],
      [{ type: [] }, "/type"],
      [{ properties: { q: { type: "integr" } } }, "/properties/q/type"],
      [{ properties: { q: { minLength: -1 } } }, "/properties/q/minLength"],
      [{ properties: { q: { maxLength: 1.5 } } }, "/properties/q/maxLength"],
      [{ properties: { q: { pattern: "(" } } }, "/properties/q/pattern"],
      [{ patternProperties: { "[": {} } }, "/patternProperties/["],
      [{ required: ["a", "a"] }, "/required"],
      [{ required: "a" }, "/required"],
      [{ multipleOf: 0 }, "/multipleOf"],
      [{ enum: "a" }, "/enum"],
      [{ allOf: [] }, "/allOf"],
      [{ anyOf: [{ type: 1 }] }, "/anyOf/0/type"],
      [{ items: [{}] }, "/items"],
      [{ $defs: { x: { minimum: "1" } } }, "/$defs/x/minimum"],
      [{ $anchor: "1abc" }, "/$anchor"],
      [{ $id: "https://x.example/s#frag" }, "/$id"],
      [{ dependentRequired: { a: [1] } }, "/dependentRequired/a/0"],
      [{ properties: { "a/b": { uniqueItems: "yes" } } }, "/properties/a~1b/uniqueItems"],
    ];
    for (const [schema, pointer] of cases) {
      const faults = parametersSchemaFaults(schema);
      expect(pointersOf(faults), JSON.stringify(schema)).toContain(pointer);
      const fault = faults.find((f) => f.pointer === pointer)!;
      expect(fault.message).toContain(`(at ${pointer})`);
      expect(fault.path).toBe(["json.parametersSchema", ...pointer.slice(1).split("/").map((t) => t.replace("~1", "/"))].join("."));
    }
  });

  it("says which simple type names exist when one is misspelt", () => {
    const [fault] = parametersSchemaFaults({ type: "strin" });
    expect(fault!.message).toContain('"string"');
  });

  it("requires the root to accept an object", () => {
    expect(pointersOf(parametersSchemaFaults({ type: "string" }))).toEqual(["/type"]);
    expect(parametersSchemaFaults({ type: ["null", "object"] })).toEqual([]);
  });

  it("refuses other drafts, dynamic references, unresolvable and looping references", () => {
    expect(pointersOf(parametersSchemaFaults({ $schema: "http://json-schema.org/draft-07/schema#" }))).toEqual(["/$schema"]);
    expect(pointersOf(parametersSchemaFaults({ properties: { a: { $schema: "https://json-schema.org/draft/2019-09/schema" } } }))).toEqual(["/properties/a/$schema"]);
    expect(pointersOf(parametersSchemaFaults({ $dynamicAnchor: "meta", items: { $dynamicRef: "#meta" } }))).toEqual(["/$dynamicAnchor", "/items/$dynamicRef"]);
    const unresolved = parametersSchemaFaults({ properties: { a: { $ref: "#/$defs/missing" }, b: { $ref: "https://elsewhere.example/s.json" } } });
    expect(pointersOf(unresolved)).toEqual(["/properties/a/$ref", "/properties/b/$ref"]);
    expect(unresolved[1]!.message).toContain("nothing is fetched");
    const [loop] = parametersSchemaFaults({ $ref: "#" });
    expect(loop!.message).toMatch(/^cannot be evaluated/);
    expect(pointersOf(parametersSchemaFaults({ $id: "https://a.example/x", $defs: { d: { $id: "https://a.example/x" } } }))).toEqual([""]);
  });

  it("refuses dynamic references because the validator would ignore them (why the meta-schema is restated)", () => {
    // A 2020-12 validator must refuse {p: 1} here (p must be an object); @cfworker/json-schema accepts it.
    const dynamic = { type: "object", $dynamicAnchor: "meta", properties: { p: { $dynamicRef: "#meta" } } };
    expect(new Validator(dynamic as never, "2020-12").validate({ p: 1 }).valid).toBe(true);
    expect(parametersSchemaFaults(dynamic).map((f) => f.pointer)).toEqual(["/$dynamicAnchor", "/properties/p/$dynamicRef"]);
  });

  it("refuses a lone surrogate in the schema, naming where", () => {
    const [fault] = parametersSchemaFaults({ properties: { ["a\udc00"]: { type: "string" } } });
    expect(fault).toMatchObject({ pointer: "/properties", path: "json.parametersSchema.properties" });
    expect(fault!.message).toContain("lone UTF-16 surrogate");
  });

  it("puts the field path where the caller says and reports at most MAX_FAULTS", () => {
    expect(parametersSchemaFaults({ type: "strin" }, "json.tool.parametersSchema")[0]!.path).toBe("json.tool.parametersSchema.type");
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`p${i}`, { minimum: "x" }]));
    expect(parametersSchemaFaults({ properties: many })).toHaveLength(MAX_FAULTS);
  });
});

describe("tool_params against the tool's schema", () => {
  const check = toolParamsChecker(sqlQuery);

  it("accepts parameters that satisfy the schema", () => {
    expect(check({ key: "fetch", index: 0, toolParams: { query: "select 1", limit: 10, tags: ["a"], window: { from: "2026-11-01" }, "a/b~c": true } })).toEqual([]);
  });

  it("names the JSON pointer, the todo key and the tool of each fault", () => {
    const faults = check({ key: "fetch", index: 3, toolParams: { query: "", limit: 0, tags: ["a", 2], window: { from: "yesterday" }, extra: 1, "a/b~c": "no" } });
    expect(faults.map((f) => [f.pointer, f.path])).toEqual([
      ["/query", "json.todos.3.toolParams.query"],
      ["/limit", "json.todos.3.toolParams.limit"],
      ["/tags/1", "json.todos.3.toolParams.tags.1"],
      ["/window/from", "json.todos.3.toolParams.window.from"],
      ["/a~1b~0c", "json.todos.3.toolParams.a/b~c"],
      ["/extra", "json.todos.3.toolParams.extra"],
    ]);
    for (const f of faults) {
      expect(f).toMatchObject({ todo: "fetch", tool: "sql_query" });
      expect(f.message).toContain(`(todo "fetch", tool "sql_query", at ${f.pointer})`);
    }
    expect(faults.find((f) => f.pointer === "/extra")!.message).toMatch(/^is not allowed by the schema/);
  });

  it("reports a missing required parameter at the params themselves", () => {
    const [fault] = check({ key: "k", index: 0, toolParams: {} });
    expect(fault).toMatchObject({ pointer: "", path: "json.todos.0.toolParams" });
    expect(fault!.message).toContain('"query"');
  });

  it("treats absent params as {} and refuses params that are not an object", () => {
    expect(pointersOf(check({ key: "k", index: 0 }))).toEqual([""]);
    expect(toolParamsChecker({ name: "free", parametersSchema: {} })({ key: "k", index: 0 })).toEqual([]);
    for (const toolParams of [[], "x", 1]) expect(check({ key: "k", index: 1, toolParams })[0]!.message).toMatch(/^must be a JSON object/);
  });

  it("gives one summary for a failed anyOf rather than each branch's complaint", () => {
    const either = toolParamsChecker({ name: "t", parametersSchema: { properties: { v: { anyOf: [{ type: "string" }, { type: "integer" }] } } } });
    const faults = either({ key: "k", index: 0, toolParams: { v: 1.5 } });
    expect(faults).toHaveLength(1);
    expect(faults[0]!.pointer).toBe("/v");
  });

  it("refuses any parameter for a tool whose schema is []", () => {
    const none = toolParamsChecker({ name: "ping", parametersSchema: [] });
    expect(none({ key: "k", index: 0 })).toEqual([]);
    expect(none({ key: "k", index: 0, toolParams: {} })).toEqual([]);
    const faults = none({ key: "k", index: 2, toolParams: { a: 1, "x/y": 2 } });
    expect(faults.map((f) => f.path)).toEqual(["json.todos.2.toolParams.a", "json.todos.2.toolParams.x/y"]);
    expect(faults[0]!.message).toContain("the tool takes none");
  });

  it("refuses params a stored schema that is not valid cannot judge, naming the todo's tool", () => {
    const broken = toolParamsChecker({ name: "legacy", parametersSchema: [{ name: "q" }] });
    const [fault] = broken({ key: "k", index: 4, toolParams: { q: 1 } });
    expect(fault).toMatchObject({ path: "json.todos.4.toolName", todo: "k", tool: "legacy" });
  });

  it("turns a schema that recurses on this input into a fault, not a crash", () => {
    const recursive = toolParamsChecker({ name: "rec", parametersSchema: { properties: { a: { $ref: "#/properties/a" } } } });
    expect(recursive({ key: "k", index: 0, toolParams: { b: 1 } })).toEqual([]);
    expect(recursive({ key: "k", index: 0, toolParams: { a: 1 } })[0]!.message).toMatch(/^cannot be checked/);
  });

  it("stays fast and short on a huge wrong array: at most MAX_FAULTS faults", () => {
    const list = toolParamsChecker({ name: "l", parametersSchema: { properties: { xs: { type: "array", items: { type: "string" } } } } });
    const faults = list({ key: "k", index: 0, toolParams: { xs: new Array(50_000).fill(1) } });
    expect(faults.map((f) => f.pointer)).toEqual(Array.from({ length: MAX_FAULTS }, (_, i) => `/xs/${i}`));
  });

  it("refuses a lone surrogate anywhere in the params, since the input hash could not be computed", () => {
    const [fault] = toolParamsChecker({ name: "free", parametersSchema: {} })({ key: "k", index: 0, toolParams: { a: ["ok", "\ud800"] } });
    expect(fault).toMatchObject({ pointer: "/a/1", path: "json.todos.0.toolParams.a.1" });
  });

  it("asserts the formats the validator knows", () => {
    const dated = toolParamsChecker({ name: "d", parametersSchema: { properties: { at: { format: "date-time" }, id: { format: "uuid" } } } });
    expect(pointersOf(dated({ key: "k", index: 0, toolParams: { at: "soon", id: "nope" } }))).toEqual(["/at", "/id"]);
    expect(dated({ key: "k", index: 0, toolParams: { at: "2026-11-26T10:00:00Z", id: crypto.randomUUID() } })).toEqual([]);
  });
});
