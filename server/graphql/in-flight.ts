/**
 * A cap on GraphQL requests in progress: one more gets 503 at once. Each
 * waiting request holds its body (up to the body limit) and a place in the
 * pool's queue, so this is what keeps memory bounded when the database is
 * slow; the pool's own checkout bound (HASURA_GRAPHQL_PG_POOL_WAIT_MS,
 * server/plugins/database.ts) keeps each wait bounded in time.
 *
 * A request counts only once its whole body has arrived (preValidation):
 * counted from its headers, a thousand clients each trickling one byte of a
 * body held every place for as long as the server waited for the rest.
 * While the cap is reached, new requests are still refused before their body
 * is read (onRequest).
 *
 * Its hooks go on the GraphQL scope (./scope.ts), so they run for its routes
 * only: no path test per request.
 */
import type { FastifyInstance } from "fastify";
import { errors } from "../errors.ts";

export class InFlightCap {
  #count = 0;
  readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  get count(): number {
    return this.#count;
  }

  /** Adds the cap's hooks to `scope`. Callback hooks: no promise per request on the hot path. */
  addHooks(scope: FastifyInstance): void {
    const refuse = () => errors.overloaded(`more than ${this.max} requests in progress`);
    const release = () => this.#count--;
    scope.addHook("onRequest", (_request, _reply, done) => {
      if (this.#count >= this.max) return done(refuse());
      done();
    });
    scope.addHook("preValidation", (_request, reply, done) => {
      if (this.#count >= this.max) return done(refuse());
      // Already closed (the client left as its body completed): 'close' will not fire again.
      if (!reply.raw.closed) {
        this.#count++;
        // 'close' fires once whether the response finished or the client left.
        reply.raw.once("close", release);
      }
      done();
    });
  }
}
