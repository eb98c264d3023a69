/**
 * GraphQL over WebSockets: GET upgrades on /v1/graphql and /v1alpha1/graphql
 * (Hasura's dialect; `graphql-transport-ws`, or the legacy `graphql-ws`,
 * Hasura's default when the client names neither) and on /graphql
 * (PostGraphile's dialect, `graphql-transport-ws` only, as grafserv). A GET
 * without an upgrade answers as before (404).
 *
 * @fastify/websocket is registered inside this plugin's own scope: its
 * route hook wraps only these routes, and the GraphQL scope's HTTP session
 * hook and in-flight count never see a socket (a socket authenticates at
 * connection_init: ./socket-auth.ts).
 *
 * Shutdown: sockets close with 1001 once their in-flight operations have answered.
 */
import websocket from "@fastify/websocket";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type WebSocket from "ws";
import type { WebSocketConfig } from "../config.ts";
import { makeLimitedParser, type QueryLimits } from "../graphql-limits.ts";
import type { CorsOrigins } from "../cors-origins.ts";
import type { ResponseLimits } from "../graphile/pipelined-adaptor.ts";
import { originMatcher } from "../plugins/cors.ts";
import type { ErrorContext } from "../to-hasura-error.ts";
import { CLOSE, SocketConnection, SocketHub } from "./connection.ts";
import { legacyExpired, serveLegacyWs } from "./legacy-ws.ts";
import { createSubscriptionRunner } from "./run-subscription.ts";
import { cookiesAllowed } from "./socket-auth.ts";
import { serveTransportWs } from "./transport-ws.ts";

export const TRANSPORT_WS = "graphql-transport-ws";
export const LEGACY_WS = "graphql-ws";

export interface WebSocketPluginOptions {
  websocket: WebSocketConfig;
  queryLimits: QueryLimits;
  introspectionDisabledFor: ReadonlySet<string>;
  maxBatchSize: number;
  errorContext: ErrorContext;
  /** HASURA_GRAPHQL_CORS_DOMAIN: which browser origins' cookies may authenticate a socket. */
  corsOrigins: CorsOrigins | null;
  /** For the live engine's connections and session keys. */
  schemas: string[];
  preparedStatements: boolean;
  responseLimits: ResponseLimits;
}

const ROUTES = [
  { url: "/v1/graphql", dialect: "hasura", bareErrors: false },
  { url: "/v1alpha1/graphql", dialect: "hasura", bareErrors: true },
  { url: "/graphql", dialect: "postgraphile", bareErrors: false },
] as const;

// Longest shutdown waits for a socket's in-flight operations before closing it anyway.
const DRAIN_GRACE_MS = 5_000;

/**
 * The subprotocol answered: graphql-transport-ws when offered; else the
 * legacy protocol (Hasura's choice for a missing or unknown one), named in
 * the answer only if the client offered it.
 */
function chooseProtocol(offered: Set<string>): string | false {
  if (offered.has(TRANSPORT_WS)) return TRANSPORT_WS;
  if (offered.has(LEGACY_WS)) return LEGACY_WS;
  return false;
}

const scope: FastifyPluginAsync<WebSocketPluginOptions> = async (app, opts) => {
  const subscriptions = createSubscriptionRunner(app, {
    cfg: opts.websocket,
    schemas: opts.schemas,
    preparedStatements: opts.preparedStatements,
    responseLimits: opts.responseLimits,
    errorContext: opts.errorContext,
  });
  const explicitOrigins = opts.corsOrigins && opts.corsOrigins !== "*" ? originMatcher(opts.corsOrigins) : null;
  const hub = new SocketHub(opts.websocket, {
    subscriptions,
    app,
    parse: makeLimitedParser(opts.queryLimits),
    queryLimits: opts.queryLimits,
    introspectionDisabledFor: opts.introspectionDisabledFor,
    maxBatchSize: opts.maxBatchSize,
    errorContext: opts.errorContext,
  });
  await app.register(websocket, {
    options: {
      maxPayload: opts.websocket.maxMessageBytes,
      handleProtocols: chooseProtocol,
    },
    // Sockets first (their subscriptions stop, in-flight answers go out, 1001), then the engine's pollers.
    preClose: (done) => {
      hub
        .drain(DRAIN_GRACE_MS)
        .then(() => subscriptions.close())
        .then(
          () => done(),
          () => done(),
        );
    },
  });

  for (const route of ROUTES) {
    app.route({
      method: "GET",
      url: route.url,
      // Not an upgrade: what this path answered before sockets existed.
      handler: (_request, reply) => reply.callNotFound(),
      wsHandler: (ws: WebSocket, request: FastifyRequest) => {
        const log = request.log;
        const legacy = route.dialect === "hasura" && ws.protocol !== TRANSPORT_WS;
        let conn: SocketConnection | undefined;
        conn = new SocketConnection({
          ws,
          hub,
          dialect: route.dialect,
          log,
          headers: cookiesAllowed(request.headers, explicitOrigins) ? request.headers : { ...request.headers, cookie: undefined },
          ip: request.ip,
          onExpired: (reason) => (legacy ? legacyExpired(conn!, reason) : conn!.close(CLOSE.forbidden, reason)),
        });
        if (hub.closing) {
          conn.close(CLOSE.goingAway, "server shutting down");
          return;
        }
        if (legacy) serveLegacyWs(ws, conn, { bareErrors: route.bareErrors });
        else serveTransportWs(ws, conn); // closes 4406 unless graphql-transport-ws was chosen
      },
    });
  }
};

export default fp<WebSocketPluginOptions>(
  async (app, opts) => {
    // An upgrade request to any other path is answered over HTTP by its
    // route (404, or what the route answers) through @fastify/websocket's
    // router; the connection is no longer Node's HTTP connection then, so
    // end it with the answer (else it would stay open and hold close()).
    app.addHook("onResponse", async (request) => {
      if (request.raw.headers.upgrade !== undefined && !request.raw.socket.destroyed) request.raw.socket.destroy();
    });
    // Encapsulated (not fp): @fastify/websocket's hooks stay on these routes.
    await app.register(scope, opts);
  },
  { name: "graphql-websockets", dependencies: ["graphql-scope", "graphql-schemas", "app-roles"], fastify: "5.x" },
);
