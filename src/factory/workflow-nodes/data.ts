import { z } from "zod";
import { loadConfig } from "../../platform/config";
import { MAX_ROWS_CEILING } from "../connector-config";
import { runConnectorQuery } from "../connector-query";
import { ConnectorError } from "../connector-result";
import { connectorForQuery } from "../connector-sql";
import { QueryRefusal } from "../sql-text";
import { NodeError, type NodeErrorCode } from "../workflow-errors";
import { authorizedRun, checkedConfig, nodeErrorOf, untilTimeout } from "./node-support";
import type { NodeHandler } from "./types";

/** A parameter after its path was resolved: a scalar, bound by the connector (never spliced into SQL). */
const ParamValue = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()], { error: "must resolve to a string, number, boolean or null" });

const DataConfig = z
  .object({
    connector_id: z.uuid(),
    query: z.string().min(1).max(100_000),
    params: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, "must be a placeholder name"), ParamValue)
      .refine((p) => Object.keys(p).length <= 100, "at most 100 parameters")
      .optional(),
    max_rows: z.int().min(1).max(MAX_ROWS_CEILING).optional(),
  })
  .strict();

/** A connector's failure as a node error: a source out of reach or too slow is worth a retry, a refused query is not. */
const CONNECTOR_CODES: Record<ConnectorError["kind"], NodeErrorCode> = { refused: "VALIDATION_ERROR", failed: "VALIDATION_ERROR", unreachable: "NETWORK_ERROR", timeout: "TIMEOUT" };

function connectorFailure(err: ConnectorError): NodeError {
  const code = err.extensions.upstreamStatus === 429 ? "RATE_LIMIT" : CONNECTOR_CODES[err.kind];
  return new NodeError(code, err.message, { kind: err.kind, ...err.extensions });
}

/**
 * DATA (docs/factory-workflows.md): a read-only query on one of the tenant's data connectors, as
 * POST /connectors/{id}/query runs it (permission connector:execute, one Postgres round trip to
 * load the connector with row-level security, then runConnectorQuery). Result: the query result
 * as that route answers it ({ columns, rows, rowCount, truncated, durationMs }).
 */
export const dataNode: NodeHandler = async (ctx, raw) => {
  const config = checkedConfig(ctx, DataConfig, raw);
  try {
    const [rows] = await authorizedRun(ctx, "connector:execute", [connectorForQuery(ctx.db, config.connector_id)] as const);
    const connector = rows[0];
    if (!connector) throw new NodeError("NOT_FOUND", `connector ${config.connector_id} was not found`, { connectorId: config.connector_id });
    const keys = loadConfig(ctx.env).FACTORY_CONNECTOR_KEYS;
    return await untilTimeout(ctx, runConnectorQuery(connector, keys, { query: config.query, params: config.params, maxRows: config.max_rows }));
  } catch (err) {
    if (err instanceof QueryRefusal) throw new NodeError("VALIDATION_ERROR", err.message, { pointer: `/config/${err.path.replace(/^json\.sql/, "query").replace(/^json\./, "").replaceAll(".", "/")}` });
    if (err instanceof ConnectorError) throw connectorFailure(err);
    throw nodeErrorOf(err);
  }
};
