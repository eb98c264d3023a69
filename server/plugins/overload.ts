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
 *   server/plugins/database.ts) keeps each wait bounded in time.
 *
 * Registered first (server/app.ts) so its hooks run before anything else.
 */
import underPressure from "@fastify/under-pressure";
import fp from "fastify-plugin";
import { errors } from "../errors.ts";

export interface OverloadOptions {
  maxConcurrentRequests: number;
  /** 0 disables the check. */
  maxEventLoopDelayMs: number;
  /** 0 disables the check. */
  maxHeapUsedBytes: number;
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
    app.addHook("onRequest", async (request, reply) => {
      if (!isGraphQLRequest(request.method, request.url)) return;
      if (inProgress >= opts.maxConcurrentRequests) {
        throw errors.overloaded(`more than ${opts.maxConcurrentRequests} requests in progress`);
      }
      inProgress++;
      // 'close' fires once whether the response finished or the client left.
      reply.raw.once("close", () => inProgress--);
    });
    app.decorate("requestsInProgress", () => inProgress);
  },
  { name: "overload", fastify: "5.x" },
);

declare module "fastify" {
  interface FastifyInstance {
    /** GraphQL requests in progress (server/plugins/overload.ts). */
    requestsInProgress(): number;
  }
}
