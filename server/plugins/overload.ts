/**
 * Load shedding: under overload the server answers fast 503s with
 * `Retry-After` (Hasura's error shape) instead of queueing without bound.
 *
 * - @fastify/under-pressure: while the event loop's mean delay or the heap
 *   in use is above its bound (sampled every second), every request but
 *   /healthz gets 503 at once, before its body is read.
 * - A cap on GraphQL requests in progress: one more gets 503 at once. Each
 *   waiting request holds its body (up to the body limit) and a place in the
 *   pool's queue, so this is what keeps memory bounded when the database is
 *   slow; the pool's own checkout bound (HASURA_GRAPHQL_PG_POOL_WAIT_MS,
 *   server/plugins/database.ts) keeps each wait bounded in time. A request
 *   counts only once its whole body has arrived (preValidation): counted
 *   from its headers, a thousand clients each trickling one byte of a body
 *   held every place for as long as the server waited for the rest. While
 *   the cap is reached, new requests are still refused before their body is
 *   read.
 * - Connections per client address: one more is closed at once, before a
 *   byte is read (behind a reverse proxy every client shares its address:
 *   raise the bound or set 0). Slow requests themselves are cut by Node's
 *   requestTimeout (server/app.ts).
 *
 * Registered first (server/app.ts) so its hooks run before anything else.
 */
import type { Socket } from "node:net";
import underPressure from "@fastify/under-pressure";
import fp from "fastify-plugin";
import { errors } from "../errors.ts";

export interface OverloadOptions {
  maxConcurrentRequests: number;
  /** 0 disables the check. */
  maxEventLoopDelayMs: number;
  /** 0 disables the check. */
  maxHeapUsedBytes: number;
  /** Open connections from one remote address; more are closed at once. 0: no bound. */
  maxConnectionsPerClient: number;
  /** Paths never shed (liveness). */
  exempt?: string[];
}

const isGraphQLRequest = (method: string, url: string) => method === "POST" && /^\/(?:v1\/|v1alpha1\/)?graphql(?:[?#]|$)/.test(url);

export default fp<OverloadOptions>(
  async (app, opts) => {
    const exempt = new Set(opts.exempt ?? ["/healthz"]);
    await app.register(underPressure, {
      maxEventLoopDelay: opts.maxEventLoopDelayMs,
      maxHeapUsedBytes: opts.maxHeapUsedBytes,
      // Rejecting makes the error handler render Hasura's shape and status.
      pressureHandler: async (request, _reply, type) => {
        if (exempt.has(request.url.split("?")[0]!)) return;
        request.log.warn({ type }, "under pressure: request refused");
        throw errors.overloaded(type === "heapUsedBytes" ? "memory" : type === "eventLoopDelay" ? "event loop delay" : type);
      },
    });

    let inProgress = 0;
    const refuse = () => errors.overloaded(`more than ${opts.maxConcurrentRequests} requests in progress`);
    // At the cap: refused before the body is read (nothing counted yet).
    // Callback hooks: no promise per request on the hot path.
    app.addHook("onRequest", (request, _reply, done) => {
      if (inProgress >= opts.maxConcurrentRequests && isGraphQLRequest(request.method, request.url)) return done(refuse());
      done();
    });
    app.addHook("preValidation", (request, reply, done) => {
      if (!isGraphQLRequest(request.method, request.url)) return done();
      if (inProgress >= opts.maxConcurrentRequests) return done(refuse());
      // Already closed (the client left as its body completed): 'close' will not fire again.
      if (!reply.raw.closed) {
        inProgress++;
        // 'close' fires once whether the response finished or the client left.
        reply.raw.once("close", () => inProgress--);
      }
      done();
    });
    app.decorate("requestsInProgress", () => inProgress);

    if (opts.maxConnectionsPerClient > 0) {
      const perClient = new Map<string, number>();
      app.server.on("connection", (socket: Socket) => {
        const address = socket.remoteAddress;
        if (address === undefined) return;
        const open = perClient.get(address) ?? 0;
        if (open >= opts.maxConnectionsPerClient) {
          socket.destroy();
          return;
        }
        perClient.set(address, open + 1);
        socket.once("close", () => {
          const left = perClient.get(address)! - 1;
          if (left === 0) perClient.delete(address);
          else perClient.set(address, left);
        });
      });
      app.decorate("connectionsFrom", (address: string) => perClient.get(address) ?? 0);
    } else {
      app.decorate("connectionsFrom", () => 0);
    }
  },
  { name: "overload", fastify: "5.x" },
);

declare module "fastify" {
  interface FastifyInstance {
    /** GraphQL requests in progress (server/plugins/overload.ts). */
    requestsInProgress(): number;
    /** Open connections counted for one remote address (0 when unbounded). */
    connectionsFrom(address: string): number;
  }
}
