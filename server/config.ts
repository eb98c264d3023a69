/**
 * Environment → typed configuration. Pure: no I/O, so every rule here is
 * unit-testable, and a bad value becomes one ConfigError naming its key.
 * Names follow Hasura (`HASURA_GRAPHQL_*`) and graphile-migrate
 * (`DATABASE_URL`, `ROOT_DATABASE_URL`) so users bring their settings as-is.
 */
import { availableParallelism } from "node:os";
import path from "node:path";
import v8 from "node:v8";
import { fileURLToPath } from "node:url";
import { loadAuthConfig, type AuthConfig } from "./auth/auth-config.ts";
import { parseCorsDomains, type CorsOrigins } from "./cors-origins.ts";
import { bool, ConfigError, int, list, oneOf, urlValue, type Env } from "./env-parse.ts";

// Callers catch and type these by config.ts; they are defined in the leaf.
export { ConfigError, type Env };

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface DatabaseConfig {
  /** Runtime connection (the authenticator). Absent: use the embedded cluster. */
  url?: string;
  /** DATABASE_LISTEN_URL: the schema-change LISTEN connection (a session, not PgBouncer's transaction mode); default: url. */
  listenUrl?: string;
  /** Owner connection for migrations and policies. Absent with `url`: don't migrate. */
  ownerUrl?: string;
  /** Superuser connection that may create the database and LOGIN roles. */
  rootUrl?: string;
  /** Embedded cluster folder and port (used only without DATABASE_URL). */
  embeddedDir: string;
  embeddedPort: number;
  /** Database name on the embedded cluster. */
  embeddedDatabase: string;
  poolSize: number;
  /** Named prepared statements (off behind PgBouncer < 1.21 in transaction mode). */
  preparedStatements: boolean;
  /** DATABASE_SCHEMAS: the schemas GraphQL exposes (a Hasura project may track tables in several), `public` first by default. */
  schemas: string[];
  /** HASURA_GRAPHQL_READ_REPLICA_URLS: streaming replicas (as the authenticator) that serve queries and live queries (server/db/read-replicas.ts). */
  readReplicaUrls: string[];
  /** HASURA_GRAPHQL_READ_REPLICA_MAX_LAG_MS: a replica further behind its primary is skipped until it catches up. */
  readReplicaMaxLagMs: number;
}

/** Overload and hostile-input bounds (server/plugins/overload.ts, server/graphql-limits.ts). */
export interface LimitsConfig {
  /** Longest wait for a pooled connection before 503 + Retry-After. */
  poolWaitMs: number;
  /** GraphQL requests in progress at once; more get 503 at once. */
  maxConcurrentRequests: number;
  /** @fastify/under-pressure: mean event-loop delay (ms) and heap use (bytes) above which requests get 503. 0: off. */
  maxEventLoopDelayMs: number;
  maxHeapUsedBytes: number;
  /** Deepest field nesting of an operation (fragments expanded). */
  maxQueryDepth: number;
  /** Most field selections in an operation (fragments expanded). */
  maxQueryCost: number;
  /** Most fields with a selection set in an operation (what planning time grows with). */
  maxQueryObjectFields: number;
  /** Most rows an operation may ask for (lists multiplied out) and the size assumed for a list without a limit. */
  maxQueryNodes: number;
  listSizeEstimate: number;
  /** Per-role schemas each dialect keeps per process (HASURA_GRAPHQL_MAX_CACHED_SCHEMAS). */
  maxCachedSchemas: number;
  /** Postgres statement_timeout of every request (a role's own `alter role … set statement_timeout` wins). */
  statementTimeoutMs: number;
  /** How long after it began an operation may still start a statement (0: no bound). */
  operationTimeoutMs: number;
  /** Rows and bytes Postgres may send for one request before it is aborted. */
  maxResponseRows: number;
  maxResponseBytes: number;
  /** Most operations in one /v1/graphql batch. */
  maxBatchSize: number;
  /** Roles that may not introspect the schema (HASURA_GRAPHQL_INTROSPECTION_DISABLED_FOR_ROLES). */
  introspectionDisabledFor: ReadonlySet<string>;
  /** Time to receive a whole request, headers and body; then 408 and the connection is closed. */
  requestBodyTimeoutMs: number;
  /** Open connections per client address (more are closed at once) and in all. 0: no bound. */
  maxConnectionsPerClient: number;
  maxConnections: number;
}

/** What the HTTP layer sends and serves besides GraphQL. */
export interface HttpConfig {
  /** HASURA_GRAPHQL_CORS_DOMAIN; null with HASURA_GRAPHQL_DISABLE_CORS. */
  corsOrigins: CorsOrigins | null;
  /** HASURA_GRAPHQL_ENABLE_CONSOLE: /graphiql and /console. */
  enableConsole: boolean;
}

/** GraphQL over WebSockets (server/subscriptions/ws-plugin.ts): Hasura's knobs, then bounds of ours. */
export interface WebSocketConfig {
  /** Legacy protocol's `ka` interval (ms); HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE is in seconds. */
  keepAliveMs: number;
  /** Time a socket has to send connection_init (ms); HASURA_GRAPHQL_WEBSOCKET_CONNECTION_INIT_TIMEOUT is in seconds. */
  connectionInitTimeoutMs: number;
  /** Largest message a client may send; bigger closes the socket (1009). */
  maxMessageBytes: number;
  /** Subscriptions one socket may hold, and all sockets together. */
  maxSubscriptionsPerSocket: number;
  maxSubscriptions: number;
  /** Messages (operations, pings) one socket may send per second; 0: no bound. */
  maxMessagesPerSecond: number;
  /** Bytes queued for a client that does not read; beyond, its socket is closed (slow consumer). */
  maxBufferedBytes: number;
  /** The live-query engine (server/subscriptions/engine.ts): refetch interval (ms) and cohorts per batch, live queries and streams. */
  liveIntervalMs: number;
  liveBatchSize: number;
  streamIntervalMs: number;
  streamBatchSize: number;
}

export interface Config {
  port: number;
  /** HASURA_GRAPHQL_SERVER_WORKERS: processes serving the port (server/cluster/); 1: a single process. */
  workers: number;
  host: string;
  projectDir: string;
  production: boolean;
  database: DatabaseConfig;
  auth: AuthConfig;
  limits: LimitsConfig;
  http: HttpConfig;
  websocket: WebSocketConfig;
  /** Names of the LOGIN roles created on the embedded cluster. */
  ownerRole: string;
  authenticatorRole: string;
  logLevel: string;
  /** One JSON line per event, or pino-pretty's one readable line (server/logger.ts). */
  logFormat: "json" | "pretty";
}

function corsOrigins(env: Env): CorsOrigins | null {
  if (bool(env, "HASURA_GRAPHQL_DISABLE_CORS", false)) return null;
  const raw = env.HASURA_GRAPHQL_CORS_DOMAIN;
  if (raw === undefined) return "*";
  try {
    return parseCorsDomains(raw);
  } catch (err) {
    throw new ConfigError("HASURA_GRAPHQL_CORS_DOMAIN", (err as Error).message);
  }
}

function postgresUrl(env: Env, key: string): string | undefined {
  const raw = env[key];
  if (raw === undefined || raw === "") return undefined;
  const url = urlValue(key, raw, "is not a valid URL (expected postgres://user:password@host:port/database)");
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new ConfigError(key, `must start with postgres:// (got ${url.protocol}//)`);
  }
  if (url.pathname.length <= 1) throw new ConfigError(key, "must name a database (…/database)");
  if (!url.username) throw new ConfigError(key, "must name a user (postgres://user@…)");
  return raw;
}

/**
 * HASURA_GRAPHQL_SERVER_WORKERS' default: one worker per core, but when the
 * embedded PostgreSQL runs on this machine it needs cores too (each request
 * costs it about a third of what it costs a worker), so then half the cores,
 * at least 2 (never more than there are cores, nor 64).
 */
export function defaultWorkers(cores: number, embeddedDatabase: boolean): number {
  return Math.min(64, embeddedDatabase ? Math.min(cores, Math.max(2, Math.ceil(cores / 2))) : cores);
}

/** HASURA_GRAPHQL_READ_REPLICA_URLS: comma-separated, each checked as DATABASE_URL is (a comma inside a password must be %2C). */
function replicaUrls(env: Env): string[] {
  const key = "HASURA_GRAPHQL_READ_REPLICA_URLS";
  const urls = list(env, key);
  urls.forEach((raw, i) => {
    try {
      postgresUrl({ [key]: raw }, key);
    } catch (e) {
      const why = e instanceof ConfigError ? e.message.slice(key.length + 2) : String(e);
      throw new ConfigError(key, urls.length > 1 ? `entry ${i + 1} ${why}` : why);
    }
  });
  return [...new Set(urls)];
}

export function loadConfig(env: Env = process.env): Config {
  const projectDir = path.resolve(REPO_ROOT, env.PROJECT_DIR || ".");
  const embeddedDatabase = projectDir === REPO_ROOT ? "app" : path.basename(projectDir).replace(/[^a-z0-9_]/gi, "_");
  const url = postgresUrl(env, "DATABASE_URL");
  const ownerUrl = postgresUrl(env, "DATABASE_OWNER_URL");
  const rootUrl = postgresUrl(env, "ROOT_DATABASE_URL");
  if (!url && (ownerUrl || rootUrl)) {
    throw new ConfigError(ownerUrl ? "DATABASE_OWNER_URL" : "ROOT_DATABASE_URL", "is set but DATABASE_URL (the runtime connection) is not");
  }
  const auth = loadAuthConfig(env);
  const production = env.NODE_ENV === "production";
  if (production && auth.adminSecret === undefined) {
    throw new ConfigError(
      "HASURA_GRAPHQL_ADMIN_SECRET",
      "is required when NODE_ENV=production (without it every request would run as admin)",
    );
  }
  return {
    port: int(env, "PORT", int(env, "HASURA_GRAPHQL_SERVER_PORT", 8080, 0, 65535), 0, 65535),
    workers: int(env, "HASURA_GRAPHQL_SERVER_WORKERS", defaultWorkers(availableParallelism(), !url), 1, 64),
    host: env.HASURA_GRAPHQL_SERVER_HOST || env.HOST || "127.0.0.1",
    projectDir,
    production,
    database: {
      url,
      listenUrl: postgresUrl(env, "DATABASE_LISTEN_URL"),
      ownerUrl,
      rootUrl,
      embeddedDir: path.resolve(REPO_ROOT, env.EMBEDDED_PG_DIR || ".data"),
      embeddedPort: int(env, "EMBEDDED_PG_PORT", 54320, 1, 65535),
      embeddedDatabase,
      poolSize: int(env, "HASURA_GRAPHQL_PG_CONNECTIONS", 10, 1, 1000),
      preparedStatements: bool(env, "HASURA_GRAPHQL_USE_PREPARED_STATEMENTS", true),
      schemas: list(env, "DATABASE_SCHEMAS").length ? [...new Set(list(env, "DATABASE_SCHEMAS"))] : ["public"],
      readReplicaUrls: replicaUrls(env),
      readReplicaMaxLagMs: int(env, "HASURA_GRAPHQL_READ_REPLICA_MAX_LAG_MS", 10_000, 0, 86_400_000),
    },
    auth,
    limits: {
      poolWaitMs: int(env, "HASURA_GRAPHQL_PG_POOL_WAIT_MS", 5_000, 1, 600_000),
      maxConcurrentRequests: int(env, "HASURA_GRAPHQL_MAX_CONCURRENT_REQUESTS", 1_000, 1, 1_000_000),
      maxEventLoopDelayMs: int(env, "HASURA_GRAPHQL_MAX_EVENT_LOOP_DELAY_MS", 1_000, 0, 600_000),
      maxHeapUsedBytes: int(
        env,
        "HASURA_GRAPHQL_MAX_HEAP_USED_BYTES",
        Math.floor(v8.getHeapStatistics().heap_size_limit * 0.9),
        0,
        Number.MAX_SAFE_INTEGER,
      ),
      maxQueryDepth: int(env, "HASURA_GRAPHQL_MAX_QUERY_DEPTH", 15, 1, 1_000),
      maxQueryCost: int(env, "HASURA_GRAPHQL_MAX_QUERY_COST", 2_500, 1, 10_000_000),
      maxQueryObjectFields: int(env, "HASURA_GRAPHQL_MAX_QUERY_OBJECT_FIELDS", 50, 1, 100_000),
      maxQueryNodes: int(env, "HASURA_GRAPHQL_MAX_QUERY_NODES", 500_000, 1, Number.MAX_SAFE_INTEGER),
      listSizeEstimate: int(env, "HASURA_GRAPHQL_LIST_SIZE_ESTIMATE", 100, 1, 1_000_000),
      maxCachedSchemas: int(env, "HASURA_GRAPHQL_MAX_CACHED_SCHEMAS", 100, 1, 100_000),
      statementTimeoutMs: int(env, "HASURA_GRAPHQL_STATEMENT_TIMEOUT_MS", 30_000, 0, 86_400_000),
      operationTimeoutMs: int(env, "HASURA_GRAPHQL_OPERATION_TIMEOUT_MS", 60_000, 0, 86_400_000),
      maxResponseRows: int(env, "HASURA_GRAPHQL_MAX_RESPONSE_ROWS", 100_000, 1, Number.MAX_SAFE_INTEGER),
      maxResponseBytes: int(env, "HASURA_GRAPHQL_MAX_RESPONSE_BYTES", 64 * 1024 * 1024, 1024, Number.MAX_SAFE_INTEGER),
      maxBatchSize: int(env, "HASURA_GRAPHQL_MAX_BATCH_SIZE", 20, 1, 10_000),
      introspectionDisabledFor: new Set(list(env, "HASURA_GRAPHQL_INTROSPECTION_DISABLED_FOR_ROLES")),
      requestBodyTimeoutMs: int(env, "HASURA_GRAPHQL_REQUEST_BODY_TIMEOUT_MS", 10_000, 100, 600_000),
      maxConnectionsPerClient: int(env, "HASURA_GRAPHQL_MAX_CONNECTIONS_PER_CLIENT", 512, 0, 1_000_000),
      maxConnections: int(env, "HASURA_GRAPHQL_MAX_CONNECTIONS", 10_000, 0, 1_000_000),
    },
    http: {
      corsOrigins: corsOrigins(env),
      enableConsole: bool(env, "HASURA_GRAPHQL_ENABLE_CONSOLE", !production),
    },
    websocket: {
      keepAliveMs: int(env, "HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE", 5, 1, 3_600) * 1000,
      connectionInitTimeoutMs: int(env, "HASURA_GRAPHQL_WEBSOCKET_CONNECTION_INIT_TIMEOUT", 3, 1, 3_600) * 1000,
      maxMessageBytes: int(env, "HASURA_GRAPHQL_WEBSOCKET_MAX_MESSAGE_BYTES", 1024 * 1024, 1024, 1024 * 1024 * 1024),
      maxSubscriptionsPerSocket: int(env, "HASURA_GRAPHQL_WEBSOCKET_MAX_SUBSCRIPTIONS", 200, 1, 1_000_000),
      maxSubscriptions: int(env, "HASURA_GRAPHQL_MAX_SUBSCRIPTIONS", 50_000, 1, 10_000_000),
      maxMessagesPerSecond: int(env, "HASURA_GRAPHQL_WEBSOCKET_MAX_MESSAGES_PER_SECOND", 200, 0, 1_000_000),
      maxBufferedBytes: int(env, "HASURA_GRAPHQL_WEBSOCKET_MAX_BUFFERED_BYTES", 16 * 1024 * 1024, 1024, Number.MAX_SAFE_INTEGER),
      liveIntervalMs: int(env, "HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL", 1000, 10, 3_600_000),
      liveBatchSize: int(env, "HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE", 100, 1, 100_000),
      streamIntervalMs: int(env, "HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL", 1000, 10, 3_600_000),
      streamBatchSize: int(env, "HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_BATCH_SIZE", 100, 1, 100_000),
    },
    ownerRole: "app_owner",
    authenticatorRole: "authenticator",
    logLevel: env.LOG_LEVEL || "info",
    // Readable lines for a person at a terminal; JSON for production and anything reading a pipe.
    logFormat: oneOf(env, "LOG_FORMAT", production || !process.stdout.isTTY ? "json" : "pretty", ["json", "pretty"] as const),
  };
}
