import { z } from "@hono/zod-openapi";
import { problemResponses } from "../platform/openapi";
import { ApiError, fieldError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { uuidParams } from "../platform/schemas";
import { factoryRoute, runFactory } from "./access";
import { MAX_ROWS_CEILING } from "./connector-config";
import { runConnectorQuery } from "./connector-query";
import { ConnectorError } from "./connector-result";
import { connectorForQuery } from "./connector-sql";
import { QueryRefusal } from "./sql-text";

const ParamValue = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]);
const QueryInput = z
  .object({
    query: z.string().min(1).max(100_000).openapi({
      description: "postgres, mysql: one SELECT/WITH/VALUES/TABLE statement with :name placeholders; rest_api: a path under base_url with :name segments; graphql: a query document",
    }),
    params: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, "must be a placeholder name"), ParamValue)
      .refine((p) => Object.keys(p).length <= 100, "at most 100 parameters")
      .optional()
      .openapi({ description: "Bound as real parameters (SQL), URL-encoded (REST) or as variables (GraphQL); never spliced into SQL text" }),
    maxRows: z.int().min(1).max(MAX_ROWS_CEILING).optional().openapi({ description: "At most the connector's max_rows" }),
  })
  .strict()
  .openapi("FactoryConnectorQuery");
const QueryResult = z
  .object({
    columns: z.array(z.string()),
    rows: z.array(z.record(z.string(), z.unknown()).openapi({ description: "A row by column name: JSON values (timestamps as ISO text, 64-bit integers and numerics as text, bytes as \\x hex)" })),
    rowCount: z.int(),
    truncated: z.boolean().openapi({ description: "The source had more rows than the cap; the rest were not read" }),
    durationMs: z.int(),
  })
  .openapi("FactoryConnectorQueryResult");

const queryConnector = factoryRoute(
  {
    method: "post",
    path: "/connectors/{id}/query",
    tags: ["factory"],
    summary: "Run a read-only query on a data connector with bound parameters (what a workflow's DATA node runs)",
    permission: "connector:execute",
    request: { params: uuidParams("id"), body: jsonBody(QueryInput) },
    responses: {
      200: json(QueryResult, "The rows, at most the row cap"),
      ...problemResponses(502, 504),
    },
  },
  404,
);

const STATUS = { refused: 422, failed: 422, unreachable: 502, timeout: 504 } as const;
const CODE = { refused: "connector_query_refused", failed: "connector_query_failed", unreachable: "connector_unreachable", timeout: "connector_timeout" } as const;

export const connectorQueryRoutes = createRouter().openapi(queryConnector, async (c) => {
  const { db, config } = c.var;
  const { id } = c.req.valid("param");
  const input = c.req.valid("json");
  const [rows] = await runFactory(c, queryConnector, [connectorForQuery(db, id)] as const);
  if (!rows[0]) throw notFound(`connector ${id}`);
  try {
    return c.json(await runConnectorQuery(rows[0], config.FACTORY_CONNECTOR_KEYS, { query: input.query, params: input.params, maxRows: input.maxRows }), 200);
  } catch (err) {
    if (err instanceof QueryRefusal) throw fieldError(err.path, err.message);
    if (err instanceof ConnectorError) throw new ApiError(STATUS[err.kind], CODE[err.kind], err.message, { connectorId: id, ...err.extensions });
    throw err;
  }
});
