/**
 * The graphql-transport-ws protocol (the graphql-ws library) through the
 * library's own `makeServer`, glued to a `ws` socket. Operations are run by
 * ./socket-operations.ts in `onSubscribe`; the library then only delivers:
 * `execute` returns the answer already computed and `subscribe` turns the
 * live pushes into an async iterator.
 *
 * Closes: bad credential at init or on refresh, and expiry: 4403 with the
 * reason; no init in time: 4408 (the library's).
 * In-band refresh (beyond Hasura): a `ping` whose payload has `headers`.
 */
import { makeServer, type ExecutionResult } from "graphql-ws";
import { GraphQLError, parse, type ExecutionArgs, type GraphQLSchema } from "graphql";
import type WebSocket from "ws";
import { CLOSE, type SocketConnection } from "./connection.ts";
import type { LiveResult } from "./run-subscription.ts";
import { runSocketOperation, type ErrorEntry, type Outcome } from "./socket-operations.ts";

interface Extra {
  conn: SocketConnection;
}

// Stand-ins the library reads the operation type from; the real document was run by socket-operations.ts.
const QUERY_DOC = parse("query{__typename}");
const SUBSCRIPTION_DOC = parse("subscription{__typename}");

/** Results queued for a client before it counts as a slow consumer (the socket's buffer is checked too). */
const MAX_QUEUED_RESULTS = 100;

const toGraphQLErrors = (entries: ErrorEntry[]) =>
  entries.map((e) => new GraphQLError(e.message, { extensions: e.extensions as Record<string, unknown> | undefined }));

/**
 * Pushes to an async iterator; `return()` (client complete, socket closed) stops the subscription.
 * Built in `onSubscribe`, right after the slot check: the library calls `subscribe` a promise step
 * later, and a burst of subscribes would all pass the per-socket bound before any was registered.
 */
function liveIterator(
  conn: SocketConnection,
  id: string,
  start: (push: (r: LiveResult) => void) => () => void,
): AsyncGenerator<LiveResult> {
  const queue: LiveResult[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  let stopDelivery = () => {};
  // Ended by the client (complete), the socket closing, or shutdown: all through the connection's registry.
  const finish = conn.addLive(id, () => {
    ended = true;
    stopDelivery();
    wake?.();
  });
  stopDelivery = start((result) => {
    if (ended) return;
    queue.push(result);
    if (queue.length > MAX_QUEUED_RESULTS) conn.close(CLOSE.tryAgainLater, `slow consumer: more than ${MAX_QUEUED_RESULTS} results unread`);
    wake?.();
  });
  const iterator: AsyncGenerator<LiveResult> = {
    async next() {
      while (!ended && queue.length === 0) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      if (queue.length) return { value: queue.shift()!, done: false };
      return { value: undefined, done: true };
    },
    async return() {
      finish();
      return { value: undefined, done: true };
    },
    async throw(e) {
      finish();
      throw e;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
    async [Symbol.asyncDispose]() {
      finish();
    },
  };
  return iterator;
}

export function serveTransportWs(ws: WebSocket, conn: SocketConnection): void {
  const server = makeServer<Record<string, unknown>, Extra>({
    connectionInitWaitTimeout: conn.hub.cfg.connectionInitTimeoutMs,
    async onConnect(ctx) {
      try {
        await conn.authenticate(ctx.connectionParams);
        return true;
      } catch (e) {
        conn.close(CLOSE.forbidden, (e as Error).message);
        return false;
      }
    },
    async onPing(_ctx, payload) {
      const headers = (payload as { headers?: unknown } | undefined)?.headers;
      if (!headers || !conn.auth) return;
      try {
        await conn.authenticate(payload);
      } catch (e) {
        conn.close(CLOSE.forbidden, (e as Error).message);
      }
    },
    async onSubscribe(_ctx, id, payload) {
      if (!conn.auth) return toGraphQLErrors([{ message: "not authenticated" }]);
      const outcome = await conn.track(runSocketOperation(conn.hub.services, conn.dialect, conn.auth.session, payload, conn.log));
      if (outcome.kind === "refused") return toGraphQLErrors(outcome.errors);
      let live: AsyncGenerator<LiveResult> | undefined;
      if (outcome.kind === "live") {
        const refused = conn.takeSubscription();
        if (refused) return toGraphQLErrors([{ message: refused.message, extensions: { path: refused.path, code: refused.code } }]);
        live = liveIterator(conn, id, outcome.start);
      }
      const args = {
        schema: undefined as unknown as GraphQLSchema,
        document: live ? SUBSCRIPTION_DOC : QUERY_DOC,
        contextValue: { outcome, live },
      } satisfies ExecutionArgs;
      return args;
    },
    execute(args) {
      const { outcome } = args.contextValue as { outcome: Outcome };
      return (outcome as Extract<Outcome, { kind: "single" }>).result as ExecutionResult;
    },
    subscribe(args) {
      return (args.contextValue as { live: AsyncGenerator<LiveResult> }).live as AsyncGenerator<ExecutionResult>;
    },
    // Results and errors are already in the dialect's shape: send them as they are.
    onNext: (_ctx, _id, _payload, _args, result) => result as never,
  });

  const closed = server.opened(
    {
      protocol: ws.protocol,
      send: (data) => conn.send(data),
      close: (code, reason) => conn.close(code ?? CLOSE.normal, reason ?? ""),
      onMessage(cb) {
        ws.on("message", (data, isBinary) => {
          if (!conn.countMessage()) return;
          if (isBinary) {
            conn.close(CLOSE.badRequest, "Invalid message received");
            return;
          }
          cb(String(data)).catch((err) => {
            conn.log.error({ err }, "graphql-transport-ws message failed");
            conn.close(4500, "Internal server error");
          });
        });
      },
    },
    { conn },
  );
  ws.once("close", (code, reason) => void closed(code, reason.toString()));
}
