import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { freeJson, JsonObject } from "../platform/input";
import { keyset } from "../platform/paging";
import { ApiError, fieldErrors, notFound, type FieldError } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { PageQuery, pageOf, uuidParams } from "../platform/schemas";
import { columnsOf, rowSchema } from "../platform/table-schema";
import { factoryRoute, runFactory, tenantOf } from "./access";
import { changedRows, userActor } from "./audit";
import { TemplateModelConfig } from "./llm-settings";
import { activatePrompt, insertPromptVersion, promptWithBodies } from "./prompt-sql";
import { parseTemplate, PromptRenderError, renderTemplate, type TemplateVariables } from "./prompt-render";
import { pickLocaleBody } from "./prompt-variant";
import { promptTemplateBodies, promptTemplates, TEMPLATE_TYPES, tenants } from "./schema";

const Name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "must be a variable name: a letter or _, then letters, digits or _");
const Locale = z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, "must be a BCP 47 tag such as ko-KR").max(35);
const Variables = z
  .object({ required: z.array(Name).max(50).default([]), optional: z.array(Name).max(50).default([]), defaults: JsonObject.default({}) })
  .strict()
  .openapi("FactoryPromptVariables");
const FewShot = freeJson(z.array(z.object({ user: z.string().max(20_000), assistant: z.string().max(20_000) }).strict()).max(20));
const BodyInput = z
  .object({ locale: Locale.default("ko-KR"), systemPrompt: z.string().min(1).max(50_000), userPromptTemplate: z.string().min(1).max(50_000), fewShotExamples: FewShot.optional() })
  .strict();
const PromptInput = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_-]{0,99}$/, "must be lowercase letters, digits, _ or -, starting with a letter"),
    purpose: z.string().min(1).max(500),
    templateType: z.enum(TEMPLATE_TYPES),
    modelConfig: TemplateModelConfig.strict().default({}),
    variables: Variables.default({ required: [], optional: [], defaults: {} }),
    aBTestGroup: z.string().regex(/^[a-z][a-z0-9_]{0,49}$/).nullable().default(null).openapi({ description: "control, variant_a, …: versions of one name active at once, one per group" }),
    bodies: z.array(BodyInput).min(1).max(20),
  })
  .strict()
  .openapi("FactoryPromptInput");
const RenderInput = z
  .object({ variables: JsonObject.default({}), locale: Locale.optional().openapi({ description: "Falls back to the tenant's locale, then ko-KR" }) })
  .strict()
  .openapi("FactoryPromptRenderInput");

const JsonMap = z.record(z.string(), z.unknown());
const PromptBody = rowSchema(promptTemplateBodies, { fewShotExamples: z.unknown().nullable() }).openapi("FactoryPromptBody");
export const Prompt = rowSchema(promptTemplates, { modelConfig: JsonMap, variables: JsonMap }).openapi("FactoryPrompt");
const PromptWithBodies = Prompt.extend({ bodies: z.array(PromptBody) }).openapi("FactoryPromptWithBodies");
/** Drizzle types the jsonb `variables` column `unknown`; the schema above says what it holds. */
const wire = <T>(row: T) => row as unknown as z.infer<typeof Prompt>;
const Rendered = z
  .object({ templateId: z.uuid(), locale: z.string(), localesTried: z.array(z.string()), system: z.string(), user: z.string() })
  .openapi("FactoryPromptRendered");

const tags = ["factory prompts"];
const create = factoryRoute(
  {
    method: "post",
    path: "/prompts",
    tags,
    permission: "prompt:create",
    summary: "A new version of a prompt template (inactive), with its bodies per locale",
    request: { body: jsonBody(PromptInput) },
    responses: { 201: json(PromptWithBodies, "The version, numbered after the name's latest") },
  },
  409,
);
const list = factoryRoute({
  method: "get",
  path: "/prompts",
  tags,
  permission: "prompt:read",
  summary: "The tenant's template versions, newest first",
  request: { query: z.object({ name: z.string().max(100).optional(), templateType: z.enum(TEMPLATE_TYPES).optional(), active: z.enum(["true", "false"]).optional(), ...PageQuery }) },
  responses: { 200: json(pageOf(Prompt, "FactoryPromptPage"), "A page of versions") },
});
const getOne = factoryRoute(
  { method: "get", path: "/prompts/{id}", tags, permission: "prompt:read", summary: "A template version with its bodies", request: { params: uuidParams("id") }, responses: { 200: json(PromptWithBodies, "The version") } },
  404,
);
const activate = factoryRoute(
  {
    method: "post",
    path: "/prompts/{id}/activate",
    tags,
    permission: "prompt:deploy",
    summary: "Deploy a version: it becomes the active one of its name and A/B group (audited)",
    request: { params: uuidParams("id") },
    responses: { 200: json(Prompt, "The version, now active") },
  },
  404,
  409,
);
const render = factoryRoute(
  {
    method: "post",
    path: "/prompts/{id}/render",
    tags,
    permission: "prompt:read",
    summary: "Preview a version rendered with variables; a missing required variable is a 422 naming it",
    request: { params: uuidParams("id"), body: jsonBody(RenderInput) },
    responses: { 200: json(Rendered, "The system and user prompts as the LLM would get them") },
  },
  404,
  409,
);

/** Every body's templates parse (the renderer's grammar), else a 422 naming the body, field and offset. */
function checkTemplates(bodies: z.infer<typeof BodyInput>[]): void {
  const problems: FieldError[] = [];
  const locales = new Set<string>();
  bodies.forEach((b, i) => {
    if (locales.has(b.locale.toLowerCase())) problems.push({ path: `json.bodies.${i}.locale`, message: `${b.locale} is given twice` });
    locales.add(b.locale.toLowerCase());
    for (const field of ["systemPrompt", "userPromptTemplate"] as const) {
      try {
        parseTemplate(b[field]);
      } catch (err) {
        if (!(err instanceof PromptRenderError)) throw err;
        problems.push({ path: `json.bodies.${i}.${field}`, message: err.message });
      }
    }
  });
  if (problems.length) throw fieldErrors(problems);
}

const newest = keyset([promptTemplates.createdAt, promptTemplates.id], "desc");

export const promptRoutes = createRouter()
  .openapi(create, async (c) => {
    const input = c.req.valid("json");
    checkTemplates(input.bodies);
    const { db } = c.var;
    const id = crypto.randomUUID();
    const [templates, bodies] = await runFactory(c, create, insertPromptVersion(db, { ...input, id, tenantId: tenantOf(c.var.principal!), createdBy: c.var.principal!.userId }));
    return c.json({ ...wire(templates[0]!), bodies: bodies.sort((a, b) => (a.locale < b.locale ? -1 : 1)) }, 201);
  })
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const { db } = c.var;
    const p = promptTemplates;
    const [rows] = await runFactory(c, list, [
      db
        .select({ ...columnsOf(p), ...newest.columns })
        .from(p)
        .where(and(q.name ? eq(p.name, q.name) : undefined, q.templateType ? eq(p.templateType, q.templateType) : undefined, q.active ? eq(p.isActive, q.active === "true") : undefined, newest.after(q.cursor)))
        .orderBy(...newest.orderBy)
        .limit(q.limit + 1),
    ] as const);
    const page = newest.page(rows, q.limit);
    return c.json({ items: page.items.map(wire), nextCursor: page.nextCursor }, 200);
  })
  .openapi(getOne, async (c) => {
    const { id } = c.req.valid("param");
    const [templates, bodies] = await runFactory(c, getOne, promptWithBodies(c.var.db, id));
    if (!templates[0]) throw notFound(`prompt template ${id}`);
    return c.json({ ...wire(templates[0]), bodies }, 200);
  })
  .openapi(activate, async (c) => {
    const { id } = c.req.valid("param");
    const [, , activated, state] = await runFactory(c, activate, activatePrompt(c.var.db, userActor(c), id));
    const [version] = changedRows(promptTemplates, activated);
    if (version) return c.json(wire(version), 200);
    if (!state[0]) throw notFound(`prompt template ${id}`);
    throw new ApiError(409, "already_active", `prompt template ${id} is already the active version of its name and group`);
  })
  .openapi(render, async (c) => {
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    const { db } = c.var;
    const [templates, bodies, tenant] = await runFactory(c, render, [...promptWithBodies(db, id), db.select({ settings: tenants.settings }).from(tenants).where(eq(tenants.id, tenantOf(c.var.principal!)))] as const);
    const template = templates[0];
    if (!template) throw notFound(`prompt template ${id}`);
    const settings = tenant[0]?.settings ?? {};
    const { body, tried } = pickLocaleBody(bodies, input.locale, typeof settings.locale === "string" ? settings.locale : null);
    if (!body) throw new ApiError(409, "prompt_body_missing", `prompt template ${template.name} version ${template.version} has no body in ${tried.join(", ")}`);
    const variables = template.variables as TemplateVariables;
    try {
      const system = renderTemplate(body.systemPrompt, input.variables, { defaults: variables.defaults });
      const user = renderTemplate(body.userPromptTemplate, input.variables, variables);
      return c.json({ templateId: id, locale: body.locale, localesTried: tried, system, user }, 200);
    } catch (err) {
      if (err instanceof PromptRenderError && err.variable) throw fieldErrors([{ path: `json.variables.${err.variable}`, message: err.message }]);
      if (err instanceof PromptRenderError) throw new ApiError(409, "prompt_unrenderable", `prompt template ${template.name} version ${template.version}: ${err.message}`);
      throw err;
    }
  });
