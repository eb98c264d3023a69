/**
 * What both WebSocket protocols share for one socket: its authentication
 * and expiry, its subscriptions under the per-socket and server-wide
 * bounds, its message rate, the slow-consumer check on every send, the
 * ws-level ping that finds dead peers, and the drain on shutdown.
 */
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import type WebSocket from "ws";
import type { RequestHeaders } from "../auth/authenticate.ts";
import type { WebSocketConfig } from "../config.ts";
import { HasuraError } from "../errors.ts";
import { authenticateSocket, closeReason, ExpiryTimer, mergedHeaders, type SocketAuth } from "./socket-auth.ts";
import type { OperationServices } from "./socket-operations.ts";

/** State every socket of the server shares: the open sockets (for shutdown) and the subscription count. */
export class SocketHub {
  readonly connections = new Set<SocketConnection>();
  subscriptions = 0;
  closing = false;
  readonly cfg: WebSocketConfig;
  readonly services: OperationServices;
  constructor(cfg: WebSocketConfig, services: OperationServices) {
    this.cfg = cfg;
    this.services = services;
  }
  /** Closes every socket with 1001 once its in-flight operations have answered (bounded by `graceMs`). */
  async drain(graceMs: number): Promise<void> {
    this.closing = true;
    await Promise.all([...this.connections].map((c) => c.drain(graceMs)));
  }
}

export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  policy: 1008,
  tryAgainLater: 1013,
  badRequest: 4400,
  forbidden: 4403,
  initTimeout: 4408,
} as const;

export class SocketConnection {
  readonly ws: WebSocket;
  readonly hub: SocketHub;
  readonly dialect: "hasura" | "postgraphile";
  readonly log: FastifyBaseLogger;
  readonly #upgradeHeaders: RequestHeaders;
  readonly #ip: string;
  auth: SocketAuth | undefined;
  readonly #expiry: ExpiryTimer;
  /** Stops of this socket's live subscriptions, by operation id. */
  readonly live = new Map<string, () => void>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #windowStart = 0;
  #windowCount = 0;
  #pingTimer: NodeJS.Timeout | undefined;
  #alive = true;

  constructor(opts: {
    ws: WebSocket;
    hub: SocketHub;
    dialect: "hasura" | "postgraphile";
    log: FastifyBaseLogger;
    headers: RequestHeaders;
    ip: string;
    /** How this protocol says the credential expired. */
    onExpired: (reason: string) => void;
  }) {
    this.ws = opts.ws;
    this.hub = opts.hub;
    this.dialect = opts.dialect;
    this.log = opts.log;
    this.#upgradeHeaders = opts.headers;
    this.#ip = opts.ip;
    this.#expiry = new ExpiryTimer(() => opts.onExpired("Could not verify JWT: JWTExpired"));
    this.hub.connections.add(this);
    // ws-level pings find peers that vanished without a close (both protocols' clients answer them).
    this.ws.on("pong", () => (this.#alive = true));
    this.#pingTimer = setInterval(() => {
      if (!this.#alive) {
        this.ws.terminate();
        return;
      }
      this.#alive = false;
      this.ws.ping();
    }, this.hub.cfg.keepAliveMs);
    this.#pingTimer.unref();
    this.ws.once("close", () => this.dispose());
  }

  get app(): FastifyInstance {
    return this.hub.services.app;
  }

  /**
   * Authenticates connection_init's payload (or a refresh's). A refresh must
   * keep the role and session variables: the running subscriptions were
   * checked with them. Throws a HasuraError on refusal.
   */
  async authenticate(payload: unknown): Promise<SocketAuth> {
    const auth = await authenticateSocket(this.app, mergedHeaders(this.#upgradeHeaders, payload), this.#ip);
    if (this.auth) {
      const before = this.auth.session;
      const same =
        before.role === auth.session.role &&
        Boolean(before.backendOnly) === Boolean(auth.session.backendOnly) &&
        JSON.stringify(Object.entries(before.variables).sort()) === JSON.stringify(Object.entries(auth.session.variables).sort());
      if (!same) throw new HasuraError("access-denied", "the refreshed credential is for another role or session; reconnect", 400);
    }
    this.auth = auth;
    this.#expiry.move(auth.expiresAt);
    return auth;
  }

  /** Sends one message; a client that leaves too much unread is closed (slow consumer). Resolves when written. */
  send(data: string): Promise<void> {
    if (this.ws.readyState !== this.ws.OPEN) return Promise.resolve();
    const written = new Promise<void>((resolve) => this.ws.send(data, () => resolve()));
    if (this.ws.bufferedAmount > this.hub.cfg.maxBufferedBytes) {
      this.close(CLOSE.tryAgainLater, `slow consumer: more than ${this.hub.cfg.maxBufferedBytes} bytes unread`);
    }
    return written;
  }

  /** Counts a client message; over the per-second bound the socket is closed. Returns false when closed. */
  countMessage(): boolean {
    const max = this.hub.cfg.maxMessagesPerSecond;
    if (max === 0) return true;
    const now = Date.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#windowCount = 0;
    }
    if (++this.#windowCount > max) {
      this.close(CLOSE.policy, `too many messages: more than ${max} per second`);
      return false;
    }
    return true;
  }

  /** Takes a subscription slot, or says why not (the operation's error). */
  takeSubscription(): HasuraError | undefined {
    const { maxSubscriptionsPerSocket, maxSubscriptions } = this.hub.cfg;
    if (this.hub.closing) return new HasuraError("unexpected", "the server is shutting down", 503);
    // Closed while the operation was prepared: dispose() has run, a subscription registered now would never stop.
    if (this.ws.readyState !== this.ws.OPEN) return new HasuraError("unexpected", "the socket is closed", 400);
    if (this.live.size >= maxSubscriptionsPerSocket) {
      return new HasuraError("bad-request", `too many subscriptions on this socket (at most ${maxSubscriptionsPerSocket})`, 400);
    }
    if (this.hub.subscriptions >= maxSubscriptions) {
      return new HasuraError("unexpected", `too many subscriptions on this server (at most ${maxSubscriptions}); try again later`, 503);
    }
    return undefined;
  }

  /** Registers a started subscription; the returned function stops it (once). */
  addLive(id: string, stop: () => void): () => void {
    this.hub.subscriptions++;
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      this.hub.subscriptions--;
      if (this.live.get(id) === end) this.live.delete(id);
      stop();
    };
    this.live.set(id, end);
    return end;
  }

  /** Tracks an operation's work so shutdown waits for it. */
  track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight.add(work);
    const forget = () => this.#inFlight.delete(work);
    work.then(forget, forget);
    return work;
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.CLOSED || this.ws.readyState === this.ws.CLOSING) return;
    this.ws.close(code, closeReason(reason));
  }

  async drain(graceMs: number): Promise<void> {
    for (const stop of [...this.live.values()]) stop();
    const timeout = new Promise((r) => setTimeout(r, graceMs).unref());
    await Promise.race([Promise.allSettled([...this.#inFlight]), timeout]);
    // The protocols send an operation's answer a few promise steps after its work settles: let them queue it first.
    await new Promise((r) => setImmediate(r));
    this.close(CLOSE.goingAway, "server shutting down");
    const closed = new Promise((r) => (this.ws.readyState === this.ws.CLOSED ? r(undefined) : this.ws.once("close", r)));
    await Promise.race([closed, timeout]);
    if (this.ws.readyState !== this.ws.CLOSED) this.ws.terminate();
  }

  dispose(): void {
    this.#expiry.clear();
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    for (const stop of [...this.live.values()]) stop();
    this.hub.connections.delete(this);
  }
}
