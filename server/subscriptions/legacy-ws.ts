/**
 * The legacy `graphql-ws` protocol (subscriptions-transport-ws's wire
 * format), Hasura's default: connection_init → connection_ack (+ `ka`
 * every HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE) or connection_error; start →
 * data… / error / complete; stop; connection_terminate.
 *
 * Written by hand rather than with subscriptions-transport-ws's server: that
 * package is archived, and its server ties execution to graphql-js's
 * execute/subscribe on one schema, while here each socket's role picks its
 * schema and subscriptions are re-run queries (./run-subscription.ts).
 *
 * As Hasura (compat facts §1.7, §10): a failed init is `connection_error`
 * (payload: the error text), and a later `start` gets an error with code
 * `start-failed`; an expired credential is `connection_error`, then close 4403.
 * Errors are `{errors: [...]}` on /v1/graphql, the bare error on /v1alpha1/graphql.
 * In-band refresh (beyond Hasura): a second connection_init with fresh headers.
 */
import type WebSocket from "ws";
import { CLOSE, type SocketConnection } from "./connection.ts";
import { closeReason } from "./socket-auth.ts";
import { entryOf, runSocketOperation, type ErrorEntry } from "./socket-operations.ts";
import { HasuraError } from "../errors.ts";

const START_FAILED_GRACE_MS = 250;

interface ClientMessage {
  type?: unknown;
  id?: unknown;
  payload?: unknown;
}

export function serveLegacyWs(ws: WebSocket, conn: SocketConnection, opts: { bareErrors: boolean }): void {
  const cfg = conn.hub.cfg;
  let acknowledged = false;
  let initFailure: string | undefined;
  let keepAlive: NodeJS.Timeout | undefined;
  // subscriptions-transport-ws sends `start` right after connection_init, without waiting for the ack: starts wait for it.
  let initializing: Promise<void> | undefined;
  const send = (message: Record<string, unknown>) => conn.send(JSON.stringify(message));
  const errorPayload = (errors: ErrorEntry[]) => (opts.bareErrors ? errors[0] : { errors });
  const sendError = (id: string, errors: ErrorEntry[]) => send({ type: "error", id, payload: errorPayload(errors) });

  const initTimer = setTimeout(() => {
    if (!acknowledged && initFailure === undefined) conn.close(CLOSE.initTimeout, "Connection initialisation timeout");
  }, cfg.connectionInitTimeoutMs);
  initTimer.unref();
  ws.once("close", () => {
    clearTimeout(initTimer);
    if (keepAlive) clearInterval(keepAlive);
  });

  async function init(payload: unknown): Promise<void> {
    try {
      await conn.authenticate(payload);
    } catch (e) {
      const message = (e as Error).message;
      if (acknowledged) {
        // A refused refresh: the running subscriptions were authorised by a credential no longer shown.
        await send({ type: "connection_error", payload: message });
        conn.close(CLOSE.forbidden, message);
        return;
      }
      initFailure = message;
      await send({ type: "connection_error", payload: message });
      // Closed shortly after, not at once: starts the client sent along with its init still get start-failed (as Hasura).
      setTimeout(() => conn.close(CLOSE.forbidden, message), START_FAILED_GRACE_MS).unref();
      return;
    }
    if (acknowledged) return; // a refresh: nothing to answer (subscriptions-transport-ws clients expect none)
    acknowledged = true;
    clearTimeout(initTimer);
    await send({ type: "connection_ack" });
    void send({ type: "ka" });
    keepAlive = setInterval(() => void send({ type: "ka" }), cfg.keepAliveMs);
    keepAlive.unref();
  }

  async function start(id: string, payload: unknown): Promise<void> {
    if (initializing) await initializing;
    if (!acknowledged || !conn.auth) {
      const reason = initFailure ?? "connection_init not received";
      const e = new HasuraError("start-failed", `cannot start as connection_init failed with : ${reason}`, 400);
      await sendError(id, [entryOf(e)]);
      return;
    }
    if (conn.live.has(id)) {
      await sendError(id, [entryOf(new HasuraError("bad-request", `an operation already exists with this id: ${id}`, 400))]);
      return;
    }
    const outcome = await conn.track(runSocketOperation(conn.hub.services, conn.dialect, conn.auth.session, payload, conn.log));
    if (outcome.kind === "refused") {
      await sendError(id, outcome.errors);
      return;
    }
    if (outcome.kind === "single") {
      await send({ type: "data", id, payload: outcome.result });
      await send({ type: "complete", id });
      return;
    }
    // A start with the same id may have been registered while this one was prepared.
    const refused = conn.live.has(id)
      ? new HasuraError("bad-request", `an operation already exists with this id: ${id}`, 400)
      : conn.takeSubscription();
    if (refused) {
      await sendError(id, [entryOf(refused)]);
      return;
    }
    let stopDelivery = () => {};
    let ended = false;
    conn.addLive(id, () => {
      ended = true;
      stopDelivery();
    });
    stopDelivery = outcome.start((result) => {
      if (!ended) void send({ type: "data", id, payload: result });
    });
  }

  ws.on("message", (data, isBinary) => {
    if (!conn.countMessage()) return;
    let message: ClientMessage;
    try {
      if (isBinary) throw new Error("binary message");
      message = JSON.parse(String(data)) as ClientMessage;
      if (message === null || typeof message !== "object") throw new Error("not an object");
    } catch (e) {
      void send({ type: "connection_error", payload: `parsing ClientMessage failed: ${closeReason((e as Error).message)}` });
      return;
    }
    const id = typeof message.id === "string" || typeof message.id === "number" ? String(message.id) : undefined;
    const failed = (err: unknown) => {
      conn.log.error({ err }, "graphql-ws (legacy) message failed");
      conn.close(1011, "internal error");
    };
    switch (message.type) {
      case "connection_init": {
        const done = init(message.payload).catch(failed);
        initializing = done;
        void done.then(() => {
          if (initializing === done) initializing = undefined;
        });
        return;
      }
      case "start":
        if (id === undefined) {
          void send({ type: "connection_error", payload: "parsing ClientMessage failed: start without an id" });
          return;
        }
        start(id, message.payload).catch(failed);
        return;
      case "stop":
        if (id !== undefined) conn.live.get(id)?.();
        return;
      case "connection_terminate":
        conn.close(CLOSE.normal, "connection_terminate");
        return;
      default:
        void send({ type: "connection_error", payload: `parsing ClientMessage failed: unknown message type` });
    }
  });
}

/** How the legacy protocol says a credential expired: connection_error, then close. */
export function legacyExpired(conn: SocketConnection, reason: string): void {
  void conn.send(JSON.stringify({ type: "connection_error", payload: reason })).then(() => conn.close(CLOSE.forbidden, reason));
}
