import { z } from "@hono/zod-openapi";
import { and, eq, gte, lt, sql } from "drizzle-orm";
import { JsonObject } from "../platform/input";
import { keyset } from "../platform/paging";
import { ApiError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { checkRange, PageQuery, pageOf, Timestamp, uuidParams } from "../platform/schemas";
import { columnsOf, rowSchema } from "../platform/table-schema";
import { factoryRoute, runFactory } from "./access";
import { changedRows, audited, userActor } from "./audit";
import { IMPORT_BATCH_ROWS, MAX_IMPORT_LINES, parseImport } from "./sample-import";
import { insertSamples, SampleLabel, SampleLabelInput } from "./sample-sql";
import { learningSamples, SAMPLE_SOURCES } from "./schema";

const JsonMap = z.record(z.string(), z.unknown());
export const LearningSample = rowSchema(learningSamples, { inputFeatures: JsonMap, label: SampleLabel, metadata: JsonMap }).openapi("FactoryLearningSample");
const SamplePage = pageOf(LearningSample, "FactoryLearningSamplePage");
const wire = <T>(row: T) => row as unknown as z.infer<typeof LearningSample>;

const SampleInput = z
  .object({
    inputFeatures: JsonObject.openapi({ description: "The judgment input the label is for (§4.1 input_data: metrics, context, …)", example: { metrics: { defect_rate: 0.081 }, context: { target_defect_rate: 0.05 } } }),
    label: SampleLabelInput,
    judgmentExecutionId: z.uuid().optional().openapi({ description: "The judgment it comes from, when any (must be one of the tenant's)" }),
    qualityScore: z.number().min(0).max(1).optional(),
    metadata: JsonObject.optional(),
  })
  .strict()
  .openapi("FactoryLearningSampleInput");

const ValidateInput = z
  .object({
    label: SampleLabelInput.optional().openapi({ description: "The expert's corrected label; without it the sample's label is confirmed" }),
    qualityScore: z.number().min(0).max(1).optional(),
  })
  .strict()
  .openapi("FactorySampleValidation");

const ImportQuery = z.object({
  format: z.enum(["jsonl", "csv"]).optional().openapi({
    description:
      "jsonl (Content-Type application/x-ndjson, application/jsonl or application/json): one {input_features, label, quality_score?, metadata?} per line; csv (text/csv): a header (result, confidence, explanation, quality_score, and feature columns such as metrics.defect_rate), then one sample per line. Default: by the Content-Type",
  }),
  onError: z.enum(["reject", "skip"]).default("reject").openapi({ description: "reject: any bad line and nothing is imported (422 listing the lines); skip: import the good lines, list the bad ones" }),
});
const LineError = z.object({ line: z.int(), pointer: z.string().openapi({ description: "JSON pointer into the line (jsonl) or /<column index> (csv); empty for the whole line" }), message: z.string() });
const ImportResult = z
  .object({
    imported: z.int(),
    failed: z.int(),
    errors: z.array(LineError).openapi({ description: "The first 100 line errors" }),
  })
  .openapi("FactorySampleImportResult");

const tags = ["factory learning"];
/** The body types of each import format; a JSON body is JSON lines of one (or more) lines. */
const IMPORT_TYPES = { jsonl: ["application/x-ndjson", "application/jsonl", "application/json"], csv: ["text/csv"] } as const;

const list = factoryRoute({
  method: "get",
  path: "/learning/samples",
  tags,
  permission: "learning:read",
  summary: "The tenant's learning samples, newest first (§6.2)",
  request: {
    query: z.object({
      source: z.enum(SAMPLE_SOURCES).optional(),
      isValidated: z.enum(["true", "false"]).optional(),
      result: z.enum(["normal", "warning", "critical"]).optional().openapi({ description: "label.result" }),
      judgmentExecutionId: z.uuid().optional(),
      from: Timestamp.optional().openapi({ description: "created_at at or after" }),
      to: Timestamp.optional().openapi({ description: "created_at before" }),
      ...PageQuery,
    }),
  },
  responses: { 200: json(SamplePage, "A page of samples") },
});
const create = factoryRoute(
  {
    method: "post",
    path: "/learning/samples",
    tags,
    permission: "learning:create",
    summary: "Enter a learning sample by hand (source manual, not yet validated)",
    request: { body: jsonBody(SampleInput) },
    responses: { 201: json(LearningSample, "Stored") },
  },
  404,
);
const importSamples = factoryRoute({
  method: "post",
  path: "/learning/samples/import",
  tags,
  permission: "learning:create",
  summary: "Import learning samples from JSON lines or CSV (source import), with an error per bad line",
  description: `Body: application/x-ndjson (or application/jsonl; application/json for a single sample) or text/csv, at most ${MAX_IMPORT_LINES} samples (and the platform's 1 MiB). Parsed line by line; written in INSERTs of at most ${IMPORT_BATCH_ROWS} rows, all in one transaction.`,
  request: {
    query: ImportQuery,
    body: {
      required: true,
      content: {
        "application/x-ndjson": { schema: z.string().openapi({ example: '{"input_features":{"metrics":{"defect_rate":0.08}},"label":{"result":"critical"}}' }) },
        "application/json": { schema: z.record(z.string(), z.unknown()).openapi({ description: "One sample, as a line of JSON lines" }) },
        "text/csv": { schema: z.string().openapi({ example: "metrics.defect_rate,result\n0.08,critical\n0.03,normal" }) },
      },
    },
  },
  responses: { 201: json(ImportResult, "Imported (with onError=skip, the lines skipped)") },
});
const validate = factoryRoute(
  {
    method: "post",
    path: "/learning/samples/{id}/validate",
    tags,
    permission: "learning:validate",
    summary: "An expert confirms (or corrects) a sample's label: is_validated, validated_by, validated_at",
    description: "Only validated samples are learned from (POST /learning/auto-rules). A validated sample is not validated again (409).",
    request: { params: uuidParams("id"), body: jsonBody(ValidateInput, { required: false }) },
    responses: { 200: json(LearningSample, "Validated") },
  },
  404,
  409,
);

const newest = keyset([learningSamples.createdAt, learningSamples.id], "desc");

export const learningSampleRoutes = createRouter()
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    checkRange(q.from, q.to);
    const { db } = c.var;
    const s = learningSamples;
    const [rows] = await runFactory(c, list, [
      db
        .select({ ...columnsOf(s), ...newest.columns })
        .from(s)
        .where(
          and(
            q.source ? eq(s.source, q.source) : undefined,
            q.isValidated ? eq(s.isValidated, q.isValidated === "true") : undefined,
            q.result ? sql`${s.label} ->> 'result' = ${q.result}` : undefined,
            q.judgmentExecutionId ? eq(s.judgmentExecutionId, q.judgmentExecutionId) : undefined,
            q.from ? gte(s.createdAt, new Date(q.from)) : undefined,
            q.to ? lt(s.createdAt, new Date(q.to)) : undefined,
            newest.after(q.cursor),
          ),
        )
        .orderBy(...newest.orderBy)
        .limit(q.limit + 1),
    ] as const);
    const page = newest.page(rows, q.limit);
    return c.json({ items: page.items.map(wire), nextCursor: page.nextCursor }, 200);
  })
  .openapi(create, async (c) => {
    const body = c.req.valid("json");
    const { db } = c.var;
    const sample = { inputFeatures: body.inputFeatures, label: body.label, qualityScore: body.qualityScore ?? null, metadata: body.metadata ?? {}, judgmentExecutionId: body.judgmentExecutionId ?? null };
    const [inserted] = await runFactory(c, create, [insertSamples(db, "manual", [sample])] as const);
    const row = changedRows(learningSamples, inserted)[0];
    if (!row) throw notFound(`judgment ${body.judgmentExecutionId}`);
    return c.json(wire(row), 201);
  })
  .openapi(importSamples, async (c) => {
    const q = c.req.valid("query");
    const type = (c.req.header("Content-Type") ?? "").split(";")[0]!.trim().toLowerCase();
    const format = q.format ?? (type === "text/csv" ? "csv" : "jsonl");
    const expected: readonly string[] = IMPORT_TYPES[format];
    if (!expected.includes(type)) throw new ApiError(415, "unsupported_media_type", `format ${format} takes a body of ${expected.join(" or ")}`, {}, { Accept: expected.join(", ") });
    const parsed = parseImport(await c.req.text(), format);
    if (parsed.errorCount && q.onError === "reject") {
      throw new ApiError(422, "import_invalid", `${parsed.errorCount} of the import's lines are not valid samples; nothing was imported`, { failed: parsed.errorCount, lineErrors: parsed.errors });
    }
    if (!parsed.samples.length) throw new ApiError(422, "import_empty", "the import holds no valid sample", { failed: parsed.errorCount, lineErrors: parsed.errors });
    const { db } = c.var;
    const statements = [];
    for (let i = 0; i < parsed.samples.length; i += IMPORT_BATCH_ROWS) statements.push(insertSamples(db, "import", parsed.samples.slice(i, i + IMPORT_BATCH_ROWS)));
    const results = (await runFactory(c, importSamples, statements as unknown as [ReturnType<typeof insertSamples>])) as unknown as { rows: unknown[] }[];
    const imported = results.reduce((n, r) => n + r.rows.length, 0);
    return c.json({ imported, failed: parsed.errorCount, errors: parsed.errors }, 201);
  })
  .openapi(validate, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json") ?? {};
    const { db } = c.var;
    const s = learningSamples;
    const label = body.label ? sql`${JSON.stringify({ ...body.label, validated_by_expert: true })}::jsonb` : sql`${s.label} || '{"validated_by_expert": true}'::jsonb`;
    const change = db
      .update(s)
      .set({
        isValidated: true,
        validatedBy: sql`app.user_id()`,
        validatedAt: sql`now()`,
        label,
        ...(body.qualityScore !== undefined ? { qualityScore: body.qualityScore } : {}),
      })
      .where(and(eq(s.id, id), eq(s.isValidated, false)))
      .returning();
    const [updated, state] = await runFactory(c, validate, [
      audited(db, userActor(c), { action: "validate", resourceType: "learning_sample", table: s, change, where: and(eq(s.id, id), eq(s.isValidated, false))! }),
      db.select({ isValidated: s.isValidated }).from(s).where(eq(s.id, id)),
    ] as const);
    const row = changedRows(s, updated)[0];
    if (row) return c.json(wire(row), 200);
    if (!state[0]) throw notFound(`learning sample ${id}`);
    throw new ApiError(409, "already_validated", `learning sample ${id} is already validated`);
  });
