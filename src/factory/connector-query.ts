import { ApiError } from "../platform/problem";
import { unseal, UnsealError, type SealingKey } from "../platform/sealed-secrets";
import { checkedConfig, isReachable, MAX_ROWS_CEILING, unreachable, type ConnectorType, type GraphqlConfig, type HttpCredentials, type RestApiConfig, type SqlConfig, type SqlCredentials } from "./connector-config";
import { pingHttp, queryGraphql, queryRestApi } from "./connector-http";
import { queryMysql } from "./connector-mysql";
import { queryPostgres } from "./connector-postgres";
import { ConnectorError, type QueryResult } from "./connector-result";
import { bindNamedParameters, type ParamValue } from "./sql-text";

/**
 * The one way anything runs a query on a data connector: the query route and the workflow
 * engine's DATA node. The caller loads the connector row (connectorForQuery() in its own batch)
 * and hands it here with the configured keys.
 */

/** A connector as stored: its config and its sealed credentials (never leaves the Worker). */
export interface StoredConnector {
  id: string;
  tenantId: string;
  type: ConnectorType;
  config: Record<string, unknown>;
  sealedCredentials: string | null;
}

/**
 * A query: SQL text with `:name` placeholders (postgres, mysql), a path with `:name` segments under
 * base_url (rest_api), or a GraphQL document (graphql); `params` are bound, never spliced in.
 */
export interface ConnectorQuery {
  query: string;
  params?: Record<string, ParamValue>;
  /** At most the connector's max_rows. */
  maxRows?: number;
}

/** What sealed credentials are bound to: the row they belong to (a copied ciphertext opens nowhere else). */
export const credentialsOwner = (tenantId: string, connectorId: string) => `factory.data_connectors/${tenantId}/${connectorId}`;

/** The 503 when credentials must be sealed or opened and no key is configured. */
export const keysMissing = () => new ApiError(503, "connector_keys_missing", "the service is misconfigured: FACTORY_CONNECTOR_KEYS is not set, so connector credentials cannot be sealed or opened");

async function openCredentials<T>(connector: StoredConnector, keys: readonly SealingKey[] | undefined): Promise<T | null> {
  if (connector.sealedCredentials === null) return null;
  if (!keys) throw keysMissing();
  try {
    return JSON.parse(await unseal(keys, connector.sealedCredentials, credentialsOwner(connector.tenantId, connector.id))) as T;
  } catch (err) {
    if (err instanceof UnsealError) throw new ConnectorError("unreachable", `the connector's credentials cannot be opened: ${err.message}; set them again`, { reason: `credentials_${err.reason}` });
    throw err;
  }
}

/** Runs `request` on the connector: read-only, within its timeout, at most its row cap. */
export async function runConnectorQuery(connector: StoredConnector, keys: readonly SealingKey[] | undefined, request: ConnectorQuery): Promise<QueryResult> {
  if (!isReachable(connector.type)) throw unreachable(connector.type);
  // Stored configs were checked on the way in; parsing again applies defaults added since.
  const config = checkedConfig(connector.type, connector.config) as { max_rows: number };
  const maxRows = Math.min(request.maxRows ?? config.max_rows, config.max_rows, MAX_ROWS_CEILING);
  const params = request.params ?? {};
  switch (connector.type) {
    case "postgres": {
      const bound = bindNamedParameters(request.query, params);
      const credentials = await openCredentials<SqlCredentials>(connector, keys);
      if (!credentials) throw new ConnectorError("unreachable", "the connector has no credentials: set username and password");
      return queryPostgres(config as unknown as SqlConfig, credentials, bound, maxRows);
    }
    case "mysql": {
      const bound = bindNamedParameters(request.query, params, "mysql");
      const credentials = await openCredentials<SqlCredentials>(connector, keys);
      if (!credentials) throw new ConnectorError("unreachable", "the connector has no credentials: set username and password");
      return queryMysql(config as unknown as SqlConfig, credentials, bound, maxRows);
    }
    case "rest_api":
      return queryRestApi(config as unknown as RestApiConfig, await openCredentials<HttpCredentials>(connector, keys), request.query, params, maxRows);
    case "graphql":
      return queryGraphql(config as unknown as GraphqlConfig, await openCredentials<HttpCredentials>(connector, keys), request.query, params, maxRows);
  }
}

/** A health check: `select 1` (SQL), GET health_path (REST), `{ __typename }` (GraphQL). Throws a ConnectorError when the source does not answer. */
export async function pingConnector(connector: StoredConnector, keys: readonly SealingKey[] | undefined): Promise<void> {
  if (!isReachable(connector.type)) throw unreachable(connector.type);
  if (connector.type === "postgres" || connector.type === "mysql") {
    await runConnectorQuery(connector, keys, { query: "select 1 as ok" });
    return;
  }
  const config = checkedConfig(connector.type, connector.config) as unknown as RestApiConfig | GraphqlConfig;
  await pingHttp(connector.type, config, await openCredentials<HttpCredentials>(connector, keys));
}
