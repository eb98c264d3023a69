/**
 * buildApp: the Fastify application, its plugins in an explicit order that
 * is itself a security property (database checks before anything listens;
 * authentication before GraphQL). It never calls listen(), so tests can.
 */
import type { Socket } from "node:net";
import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import { FailureLimiter } from "./auth/admin-secret.ts";
import type { Config } from "./config.ts";
import { errors, flatErrorBody } from "./errors.ts";
import { loggerOptions } from "./logger.ts";
import graphiql from "./graphql/graphiql.ts";
import graphqlSchemas from "./graphql/schemas.ts";
import graphqlScope from "./graphql/scope.ts";
import appRoles from "./plugins/app-roles.ts";
import consolePage from "./plugins/console.ts";
import consoleExplain from "./plugins/console-explain.ts";
import cors from "./plugins/cors.ts";
import database from "./plugins/database.ts";
import health from "./plugins/health.ts";
import metadataApi from "./plugins/metadata-api.ts";
import overload from "./plugins/overload.ts";
import securityHeaders, { RAW_SECURITY_HEADERS } from "./plugins/security-headers.ts";
import graphqlWebSockets from "./subscriptions/ws-plugin.ts";
import { toHasuraError, type ErrorContext } from "./to-hasura-error.ts";

export interface AppOptions {
  config: Config;
  /** The runtime (authenticator) connection string. */
  databaseUrl: string;
  /** Rebuild schemas when the database notifies a change (npm run dev). */
  watch?: boolean;
  /** Build every role's schema in the background after start (npm start). */
  warmSchemas?: boolean;
  /** The LISTEN connection of the rebuild (DATABASE_LISTEN_URL); default: databaseUrl. */
  listenUrl?: string;
  /** With several workers: the fleet's readiness, for /readyz (server/cluster/). */
  fleet?: () => { ready: number; total: number };
}

const MAX_REQUEST_BYTES = 1024 * 1024;

// How often Node looks for requests past their timeout (its default, 30 s,
// would let a slow body live up to 30 s beyond the bound).
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/**
 * Answers Node gives before a request reaches Fastify (a request that did
 * not arrive within the timeout, headers too large, bytes that are not
 * HTTP), in Hasura's flat shape, then closes the connection.
 */
function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket) {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const [status, reason, e] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [408, "Request Timeout", errors.requestTimeout()]
      : err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "Request Header Fields Too Large", errors.headersTooLarge()]
        : [400, "Bad Request", errors.malformedRequest()];
  this.log.debug({ err: err.message, remote: socket.remoteAddress }, "client error");
  const body = JSON.stringify(flatErrorBody(e));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${RAW_SECURITY_HEADERS}connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { config } = opts;
  const app = Fastify({
    logger: await loggerOptions(config),
    bodyLimit: MAX_REQUEST_BYTES,
    // Bounded waits: a slow client cannot hold a connection forever. The
    // whole request (headers and body) must arrive within
    // HASURA_GRAPHQL_REQUEST_BODY_TIMEOUT_MS; the handler's own time is not
    // counted (the pool wait and statement timeouts bound that).
    requestTimeout: config.limits.requestBodyTimeoutMs,
    http: {
      headersTimeout: config.limits.requestBodyTimeoutMs,
      requestTimeout: config.limits.requestBodyTimeoutMs,
      connectionsCheckingInterval: Math.min(TIMEOUT_CHECK_INTERVAL_MS, config.limits.requestBodyTimeoutMs),
    },
    clientErrorHandler,
    connectionTimeout: 60_000,
    keepAliveTimeout: 72_000,
    forceCloseConnections: "idle",
  });
  // Beyond it Node closes new connections at once (file descriptors stay bounded).
  if (config.limits.maxConnections > 0) app.server.maxConnections = config.limits.maxConnections;

  // While shutting down, answer in-flight requests with `Connection: close`
  // so keep-alive sockets do not hold close() open until they time out.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", async (_request, reply) => {
    if (closing) reply.header("connection", "close");
  });

  const errorContext: ErrorContext = { poolWaitMs: config.limits.poolWaitMs, maxRequestBytes: MAX_REQUEST_BYTES };
  // Errors outside the GraphQL scope (which has its own handler): Hasura's flat shape.
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const e = toHasuraError(err, errorContext) ?? errors.internal();
    if (e.statusCode >= 500) request.log.error({ err }, "request failed");
    reply.code(e.statusCode).headers(e.headers);
    return flatErrorBody(e);
  });
  app.setNotFoundHandler((_request, reply) => {
    const e = errors.notFound();
    reply.code(e.statusCode);
    return flatErrorBody(e);
  });

  // First (cheap, fixed headers), so even refusals carry them and a browser can read them.
  await app.register(securityHeaders);
  await app.register(cors, { origins: config.http.corsOrigins });
  // Then load shedding, before any other work is done.
  await app.register(overload, {
    maxEventLoopDelayMs: config.limits.maxEventLoopDelayMs,
    maxHeapUsedBytes: config.limits.maxHeapUsedBytes,
    maxConnectionsPerClient: config.limits.maxConnectionsPerClient,
  });
  await app.register(database, {
    url: opts.databaseUrl,
    poolSize: config.database.poolSize,
    connectionTimeoutMillis: config.limits.poolWaitMs,
    readReplicas: { urls: config.database.readReplicaUrls, maxLagMs: config.database.readReplicaMaxLagMs },
  });
  await app.register(appRoles, { schemas: config.database.schemas });
  // Before GraphQL: with the console disabled, its gate also closes /graphiql.
  // One count of failed admin-secret attempts per address for every route that takes it.
  const adminFailures = new FailureLimiter({ maxFailures: config.auth.adminSecretMaxFailuresPerMinute });
  await app.register(consolePage, {
    enabled: config.http.enableConsole,
    adminSecret: config.auth.adminSecret,
    adminFailures,
    schema: config.database.schemas[0]!,
    authenticator: decodeURIComponent(new URL(opts.databaseUrl).username),
  });
  await app.register(consoleExplain, {
    enabled: config.http.enableConsole,
    adminSecret: config.auth.adminSecret,
    adminFailures,
    schemas: config.database.schemas,
    authenticator: decodeURIComponent(new URL(opts.databaseUrl).username),
  });
  // The schema /readyz waits for: the one most first requests need.
  const readinessRole = config.auth.unauthorizedRole ?? (app.appRoles.has("admin") ? "admin" : (app.appRoles.list()[0] ?? "admin"));
  const queryLimits = {
    maxDepth: config.limits.maxQueryDepth,
    maxCost: config.limits.maxQueryCost,
    maxObjectFields: config.limits.maxQueryObjectFields,
    maxNodes: config.limits.maxQueryNodes,
    listSizeEstimate: config.limits.listSizeEstimate,
  };
  await app.register(graphqlSchemas, {
    schemas: config.database.schemas,
    readinessRole,
    maxRequestLength: MAX_REQUEST_BYTES,
    watch: opts.watch ?? false,
    listenUrl: opts.listenUrl ?? opts.databaseUrl,
    // Start-up errors of the LISTEN connection name the setting to fix.
    listenUrlSetting: config.database.listenUrl ? "DATABASE_LISTEN_URL" : undefined,
    warmSchemas: opts.warmSchemas ?? false,
    maxCachedSchemas: config.limits.maxCachedSchemas,
    queryLimits,
    errorContext,
    responseLimits: {
      maxRows: config.limits.maxResponseRows,
      maxBytes: config.limits.maxResponseBytes,
      maxMs: config.limits.operationTimeoutMs,
    },
    statementTimeoutMs: config.limits.statementTimeoutMs,
    preparedStatements: config.database.preparedStatements,
  });
  await app.register(graphiql, { role: readinessRole });
  await app.register(health, { readinessRole, fleet: opts.fleet });
  // The GraphQL endpoints: routes, session, in-flight cap and error handler in one scope.
  await app.register(graphqlScope, {
    auth: config.auth,
    adminFailures,
    maxRequestLength: MAX_REQUEST_BYTES,
    maxConcurrentRequests: config.limits.maxConcurrentRequests,
    queryLimits,
    maxBatchSize: config.limits.maxBatchSize,
    introspectionDisabledFor: config.limits.introspectionDisabledFor,
    errorContext,
  });
  // GraphQL over WebSockets on the same paths (GET upgrades), authenticated at connection_init.
  await app.register(graphqlWebSockets, {
    websocket: config.websocket,
    queryLimits,
    introspectionDisabledFor: config.limits.introspectionDisabledFor,
    maxBatchSize: config.limits.maxBatchSize,
    errorContext,
    corsOrigins: config.http.corsOrigins,
    schemas: config.database.schemas,
    preparedStatements: config.database.preparedStatements,
    responseLimits: {
      maxRows: config.limits.maxResponseRows,
      maxBytes: config.limits.maxResponseBytes,
      maxMs: config.limits.operationTimeoutMs,
    },
  });
  // Hasura's metadata API: export_metadata only, for admins.
  await app.register(metadataApi, {
    schemas: config.database.schemas,
    authenticator: decodeURIComponent(new URL(opts.databaseUrl).username),
  });
  return app;
}
