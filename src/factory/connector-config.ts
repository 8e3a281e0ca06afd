import { z } from "zod";
import { ApiError, fieldErrors } from "../platform/problem";
import { carriesUserinfo, publicHeaders } from "./public-headers";
import type { CONNECTOR_TYPES } from "./schema";

/**
 * What each connector type's `config` and `credentials` hold (§9.1), and the types a Worker
 * cannot reach. Keys are snake_case, as the spec's config example writes them.
 */

export type ConnectorType = (typeof CONNECTOR_TYPES)[number];

/** Rows one query returns at most, whatever a config asks. */
export const MAX_ROWS_CEILING = 10_000;
/** Seconds one query may take at most, whatever a config asks (a Worker's request should not wait longer). */
export const TIMEOUT_CEILING_SECONDS = 30;

const limits = {
  query_timeout_seconds: z.int().min(1).max(TIMEOUT_CEILING_SECONDS).default(10),
  max_rows: z.int().min(1).max(MAX_ROWS_CEILING).default(1000),
};

const Host = z
  .string()
  .min(1)
  .max(253)
  .refine((h) => !h.startsWith("/"), "a Unix socket cannot be reached from a Worker: give a host name or IP address reachable over TCP")
  .refine((h) => h.startsWith("/") || /^[A-Za-z0-9.:[\]_-]+$/.test(h), "must be a host name or an IP address");

const sqlConfig = (defaultPort: number) =>
  z
    .object({
      host: Host,
      port: z.int().min(1).max(65_535).default(defaultPort),
      database: z.string().min(1).max(128),
      ssl_enabled: z.boolean().default(true),
      // Accepted as the spec writes it; a Worker opens one connection per query and closes it (docs/factory-connectors.md).
      connection_pool: z
        .object({ min_connections: z.int().min(0).max(100), max_connections: z.int().min(1).max(100), idle_timeout_seconds: z.int().min(0).max(86_400) })
        .partial()
        .strict()
        .optional(),
      read_only: z.literal(true, { error: "must be true: connectors only read" }).default(true),
      ...limits,
    })
    .strict();

const HeaderName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, "must be an HTTP header name");
const Headers = z.record(HeaderName, z.string().max(4096).regex(/^[^\r\n]*$/, "must be one line")).refine((h) => Object.keys(h).length <= 20, "at most 20 headers");
const HttpUrl = z
  .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
  .max(2048)
  .refine((u) => !carriesUserinfo(u), "must not carry a user name or password: put them in credentials (sealed, never returned)");
const ConfigHeaders = publicHeaders(Headers, "credentials");
const RowsPath = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, "must be dotted member names, e.g. data.rows").max(200);

/** A path under base_url: `//host`, dot segments (also as %2e), `?`, `#` or `\\` could lead the health check, with the credentials, elsewhere. */
const HealthPath = z
  .string()
  .max(2048)
  .regex(/^\/(?!\/)[^?#\\]*$/, "must be a path under base_url: starting with one /, without ?, # or \\")
  .refine((p) => !p.split("/").some((seg) => /^(\.|%2e){1,2}$/i.test(seg)), "must be a path under base_url: no . or .. segments, also not percent-encoded (%2e)")
  .default("/");

const RestApiConfig = z
  .object({
    base_url: HttpUrl,
    headers: ConfigHeaders.optional(),
    rows_path: RowsPath.optional(),
    health_path: HealthPath,
    ...limits,
  })
  .strict();

const GraphqlConfig = z
  .object({
    endpoint: HttpUrl,
    headers: ConfigHeaders.optional(),
    rows_path: RowsPath.optional(),
    ...limits,
  })
  .strict();

export const PostgresConfig = sqlConfig(5432);
const MysqlConfig = sqlConfig(3306);
export type SqlConfig = z.infer<typeof PostgresConfig>;
export type RestApiConfig = z.infer<typeof RestApiConfig>;
export type GraphqlConfig = z.infer<typeof GraphqlConfig>;

const SqlCredentials = z.object({ username: z.string().min(1).max(128), password: z.string().max(1024) }).strict();
const HttpCredentials = z
  .object({ bearer_token: z.string().min(1).max(8192).optional(), headers: Headers.optional() })
  .strict()
  .refine((c) => c.bearer_token !== undefined || c.headers !== undefined, "must give bearer_token or headers");

export type SqlCredentials = z.infer<typeof SqlCredentials>;
export type HttpCredentials = z.infer<typeof HttpCredentials>;

/** The types a Worker reaches, with their shapes. */
const SHAPES = {
  postgres: { config: PostgresConfig, credentials: SqlCredentials, engines: ["postgres"] },
  mysql: { config: MysqlConfig, credentials: SqlCredentials, engines: ["mysql", "mariadb"] },
  rest_api: { config: RestApiConfig, credentials: HttpCredentials, engines: [] },
  graphql: { config: GraphqlConfig, credentials: HttpCredentials, engines: [] },
} as const;

export type ReachableType = keyof typeof SHAPES;

/** Why each other type is refused, and the usual way round. */
const UNREACHABLE: Record<Exclude<ConnectorType, ReachableType>, string> = {
  mssql:
    "mssql cannot be reached from a Cloudflare Worker: no SQL Server (TDS) driver runs on the Workers runtime; " +
    "put an HTTP gateway in front of it (e.g. Data API builder, or a small REST or GraphQL service next to the database) and register it as a rest_api or graphql connector",
  oracle:
    "oracle cannot be reached from a Cloudflare Worker: Oracle's drivers need native libraries or Node's net module, which the Workers runtime lacks; " +
    "put an HTTP gateway in front of it (e.g. Oracle REST Data Services) and register it as a rest_api connector",
  kafka:
    "kafka cannot be reached from a Cloudflare Worker: Kafka clients keep long-lived broker connections a request-scoped Worker cannot hold; " +
    "put an HTTP gateway in front of it (e.g. a Kafka REST Proxy) and register it as a rest_api connector",
};

export const isReachable = (type: ConnectorType): type is ReachableType => type in SHAPES;

/** The 422 for a type a Worker cannot reach, naming the way round. */
export function unreachable(type: ConnectorType): ApiError {
  const detail = UNREACHABLE[type as keyof typeof UNREACHABLE];
  return new ApiError(422, "connector_type_unreachable", detail, { type, errors: [{ path: "json.type", message: detail }] });
}

const issuesAt = (root: string, error: z.ZodError) =>
  error.issues.map((i) => ({ path: [root, ...i.path.map(String)].join("."), message: i.message }));

/** A connector's config with defaults applied, or a 422 naming each faulty field under `root` (json.config). */
export function checkedConfig(type: ConnectorType, config: unknown, root = "json.config"): Record<string, unknown> {
  if (!isReachable(type)) throw unreachable(type);
  const result = SHAPES[type].config.safeParse(config);
  if (!result.success) throw fieldErrors(issuesAt(root, result.error));
  return result.data;
}

/** A connector's credentials as they will be sealed, or a 422 naming each faulty field (never its value). */
export function checkedCredentials(type: ConnectorType, credentials: unknown, root = "json.credentials"): Record<string, unknown> {
  if (!isReachable(type)) throw unreachable(type);
  const result = SHAPES[type].credentials.safeParse(credentials);
  if (!result.success) throw fieldErrors(issuesAt(root, result.error).map((e) => ({ ...e, message: e.message.replace(/received .*/i, "received another value") })));
  return result.data;
}

/** `engine` may name the product behind a type (e.g. postgres for a Postgres-compatible server); null when it says nothing. */
export function checkedEngine(type: ConnectorType, engine: string | null | undefined): string | null {
  if (engine === null || engine === undefined) return null;
  const allowed: readonly string[] = isReachable(type) ? SHAPES[type].engines : [];
  if (!allowed.includes(engine)) {
    throw fieldErrors([{ path: "json.engine", message: allowed.length ? `must be one of ${allowed.join(", ")} for ${type}` : `${type} connectors take no engine` }]);
  }
  return engine;
}
