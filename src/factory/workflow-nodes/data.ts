import { z } from "zod";
import { loadConfig } from "../../platform/config";
import { runConnectorQuery } from "../connector-query";
import { ConnectorError } from "../connector-result";
import { connectorForQuery } from "../connector-sql";
import { QueryRefusal, type ParamValue } from "../sql-text";
import { ParamValue as DslParamValue } from "../workflow-dsl-schema";
import { NodeError, type NodeErrorCode } from "../workflow-errors";
import { configRefusal, nodeConfig } from "./config";
import { authorizedRun, nodeErrorOf, untilTimeout } from "./node-support";
import type { NodeHandler } from "./types";

/** The params with their paths resolved, each checked again by the DSL's ParamValue: a path must lead to a scalar. */
function resolvedParams(ctx: Parameters<NodeHandler>[0], params: Record<string, unknown> | undefined): Record<string, ParamValue> | undefined {
  if (!params) return undefined;
  const resolved = ctx.resolve(params) as Record<string, unknown>;
  const checked = z.record(z.string(), DslParamValue).safeParse(resolved);
  if (!checked.success) throw configRefusal(checked.error.issues, ["params"]);
  return checked.data;
}

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
  const config = nodeConfig("DATA", raw);
  const params = resolvedParams(ctx, config.params);
  try {
    const [rows] = await authorizedRun(ctx, "connector:execute", [connectorForQuery(ctx.db, config.connector_id)] as const);
    const connector = rows[0];
    if (!connector) throw new NodeError("NOT_FOUND", `connector ${config.connector_id} was not found`, { connectorId: config.connector_id });
    const keys = loadConfig(ctx.env).FACTORY_CONNECTOR_KEYS;
    return await untilTimeout(ctx, runConnectorQuery(connector, keys, { query: config.query, params, maxRows: config.max_rows }));
  } catch (err) {
    if (err instanceof QueryRefusal) throw new NodeError("VALIDATION_ERROR", err.message, { pointer: `/config/${err.path.replace(/^json\.sql/, "query").replace(/^json\./, "").replaceAll(".", "/")}` });
    if (err instanceof ConnectorError) throw connectorFailure(err);
    throw nodeErrorOf(err);
  }
};
