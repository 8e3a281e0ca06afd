import { z } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import { JsonObject } from "../platform/input";
import { keyset } from "../platform/paging";
import { ApiError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { relayAfterResponse } from "../platform/relay";
import { createRouter } from "../platform/router";
import { pageOf, PageQuery } from "../platform/schemas";
import { columnsOf } from "../platform/table-schema";
import { factoryRoute, runFactory, tenantOf } from "./access";
import { changedRows, userActor } from "./audit";
import { compile, trace } from "./rhai";
import { compileVersion, scriptHash } from "./rule-engine";
import { RuleConflict, RuleScript } from "./rule-schemas";
import { rulesets, ruleScripts } from "./schema";
import { insertVersion, versionRow } from "./script-sql";

const RuleScriptPage = pageOf(RuleScript, "FactoryRuleScriptPage");
const NewRuleScript = RuleScript.extend({
  conflicts: z.array(RuleConflict).openapi({ description: "What was found about this version alone (cycles, overlapping conditions); comparisons with other versions follow" }),
}).openapi("FactoryNewRuleScript");

const ScriptInput = z
  .object({ script: z.string().min(1).max(64 * 1024).openapi({ description: "Rhai source; its first fn is the entry (docs/factory-rhai.md)" }) })
  .strict()
  .openapi("FactoryRuleScriptInput");
const TestInput = z
  .object({ input: JsonObject.openapi({ description: "A judgment's input_data (§4.1): each parameter of the entry takes the key of its name" }) })
  .strict()
  .openapi("FactoryRuleTestInput");
const TestResult = z
  .object({
    ok: z.boolean(),
    value: z.unknown().openapi({ description: "What the entry returned, as JSON (null when it failed)" }),
    error: z.object({ kind: z.string(), message: z.string(), line: z.int(), column: z.int() }).nullable(),
    trace: z.array(z.record(z.string(), z.unknown())).openapi({ description: "The branch decisions in evaluation order" }),
  })
  .openapi("FactoryRuleTestResult");

const tags = ["factory"];
const RulesetParam = z.object({ id: z.uuid().openapi({ param: { name: "id", in: "path" } }) });
const VersionParams = RulesetParam.extend({ version: z.coerce.number().int().min(1).max(2_147_483_647).openapi({ param: { name: "version", in: "path" } }) });

const createVersion = factoryRoute(
  {
    method: "post",
    path: "/rules/rulesets/{id}/scripts",
    tags,
    summary: "Store the next version of a ruleset's script, compiled at once (a failed compile is stored as a failed version)",
    permission: "rule:create",
    request: { params: RulesetParam, body: jsonBody(ScriptInput) },
    responses: { 201: json(NewRuleScript, "Stored, with compile_status and what was found about it") },
  },
  404,
);
const listVersions = factoryRoute(
  {
    method: "get",
    path: "/rules/rulesets/{id}/scripts",
    tags,
    summary: "A ruleset's versions, newest first",
    permission: "rule:read",
    request: { params: RulesetParam, query: z.object(PageQuery) },
    responses: { 200: json(RuleScriptPage, "A page of versions") },
  },
  404,
);
const getVersion = factoryRoute(
  { method: "get", path: "/rules/rulesets/{id}/scripts/{version}", tags, summary: "One version", permission: "rule:read", request: { params: VersionParams }, responses: { 200: json(RuleScript, "The version") } },
  404,
);
const testVersion = factoryRoute(
  {
    method: "post",
    path: "/rules/rulesets/{id}/scripts/{version}/test",
    tags,
    summary: "Evaluate a version on an input, with its branch trace; writes nothing",
    permission: "rule:read",
    request: { params: VersionParams, body: jsonBody(TestInput) },
    responses: { 200: json(TestResult, "What the version answered") },
  },
  404,
  409,
);

const byVersion = keyset([ruleScripts.version], "desc");
const rulesetVisible = (id: string) => sql<boolean>`exists (select 1 from ${rulesets} where ${rulesets.id} = ${id}::uuid)`;
export const notCompiled = (rulesetId: string, version: number) =>
  new ApiError(409, "version_not_compiled", `version ${version} of ruleset ${rulesetId} failed to compile and cannot run`, { version });

export const ruleScriptRoutes = createRouter()
  .openapi(createVersion, async (c) => {
    const { db } = c.var;
    const { id: rulesetId } = c.req.valid("param");
    const { script } = c.req.valid("json");
    const compiled = compileVersion(script);
    const version = {
      id: crypto.randomUUID(),
      rulesetId,
      script,
      scriptHash: await scriptHash(script),
      compileStatus: compiled.compileStatus,
      compileError: compiled.compileError,
      testCoverage: compiled.testCoverage,
    };
    const tenantId = tenantOf(c.var.principal!);
    const [, inserted, , , state, conflicts] = await runFactory(c, createVersion, insertVersion(db, userActor(c), tenantId, version, compiled.findings));
    const row = changedRows(ruleScripts, inserted)[0];
    if (!row || !state[0]!.ruleset) throw notFound(`ruleset ${rulesetId}`);
    if (row.compileStatus === "compiled") relayAfterResponse(c);
    return c.json({ ...row, conflicts }, 201);
  })
  .openapi(listVersions, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    const [rows, state] = await runFactory(c, listVersions, [
      db
        .select({ ...columnsOf(ruleScripts), ...byVersion.columns })
        .from(ruleScripts)
        .where(and(eq(ruleScripts.rulesetId, id), byVersion.after(q.cursor)))
        .orderBy(...byVersion.orderBy)
        .limit(q.limit + 1),
      db.select({ ruleset: rulesetVisible(id) }).from(sql`(select 1) as one`),
    ] as const);
    if (!state[0]!.ruleset) throw notFound(`ruleset ${id}`);
    return c.json(byVersion.page(rows, q.limit), 200);
  })
  .openapi(getVersion, async (c) => {
    const { db } = c.var;
    const { id, version } = c.req.valid("param");
    const [rows] = await runFactory(c, getVersion, [versionRow(db, id, version)] as const);
    if (!rows[0]) throw notFound(`version ${version} of ruleset ${id}`);
    return c.json(rows[0], 200);
  })
  .openapi(testVersion, async (c) => {
    const { db } = c.var;
    const { id, version } = c.req.valid("param");
    const { input } = c.req.valid("json");
    const [rows] = await runFactory(c, testVersion, [versionRow(db, id, version)] as const);
    const row = rows[0];
    if (!row) throw notFound(`version ${version} of ruleset ${id}`);
    const compiled = row.compileStatus === "compiled" ? compile(row.script) : null;
    if (!compiled?.ok) throw notCompiled(id, version);
    const r = trace(compiled.program, null, input);
    return c.json({ ok: r.ok, value: r.ok ? r.value : null, error: r.ok ? null : r.error, trace: r.trace as unknown as Record<string, unknown>[] }, 200);
  });
