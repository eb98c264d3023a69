/**
 * Load shedding: under overload the server answers fast 503s with
 * `Retry-After` (Hasura's error shape) instead of queueing without bound.
 *
 * - @fastify/under-pressure: while the event loop's mean delay or the heap
 *   in use is above its bound (sampled every second), every request but
 *   /healthz gets 503 at once, before its body is read.
 * - Above the same heap bound, the biggest request already running is
 *   aborted (refusing new ones does not stop it), checked every 250 ms.
 * - The cap on GraphQL requests in progress belongs to the GraphQL scope
 *   (server/graphql/in-flight.ts).
 * - Connections per client address: one more is closed at once, before a
 *   byte is read (behind a reverse proxy every client shares its address:
 *   raise the bound or set 0). Slow requests themselves are cut by Node's
 *   requestTimeout (server/app.ts).
 *
 * Registered first (server/app.ts) so its hooks run before anything else.
 */
import type { Socket } from "node:net";
import v8 from "node:v8";
import underPressure from "@fastify/under-pressure";
import fp from "fastify-plugin";
import { errors } from "../errors.ts";
import { abortLargestRequest } from "../graphile/pipelined-adaptor.ts";

export interface OverloadOptions {
  /** 0 disables the check. */
  maxEventLoopDelayMs: number;
  /** 0 disables the check. */
  maxHeapUsedBytes: number;
  /** Open connections from one remote address; more are closed at once. 0: no bound. */
  maxConnectionsPerClient: number;
  /** Paths never shed (liveness). */
  exempt?: string[];
}

/** How often the heap is checked for the in-flight abort. */
const HEAP_CHECK_MS = 250;

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

    if (opts.maxHeapUsedBytes > 0) {
      const timer = setInterval(() => {
        if (v8.getHeapStatistics().used_heap_size > opts.maxHeapUsedBytes && abortLargestRequest()) {
          app.log.warn("heap above HASURA_GRAPHQL_MAX_HEAP_USED_BYTES: aborted the largest request in progress");
        }
      }, HEAP_CHECK_MS).unref();
      app.addHook("onClose", async () => clearInterval(timer));
    }

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
    /** Open connections counted for one remote address (0 when unbounded). */
    connectionsFrom(address: string): number;
  }
}
