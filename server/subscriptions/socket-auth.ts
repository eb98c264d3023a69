/**
 * A WebSocket's authentication, once at connection_init (Hasura, compat
 * facts §1.7): the init payload's `headers` merged over the upgrade
 * request's, through the HTTP authenticator, and the role checked against
 * the application roles. Its expiry (JWT exp, webhook Expires/max-age)
 * closes the socket; a fresh credential sent in-band moves it (beyond
 * Hasura, its #5581).
 */
import type { FastifyInstance } from "fastify";
import type { RequestHeaders } from "../auth/authenticate.ts";
import type { HasuraSession } from "../auth/pg-settings.ts";
import { errors, HasuraError } from "../errors.ts";
import { toHasuraError } from "../to-hasura-error.ts";

export interface SocketAuth {
  session: HasuraSession;
  expiresAt?: number;
}

// Headers that describe the WebSocket connection itself: never taken from the upgrade request into the auth headers.
const CONNECTION_HEADERS = new Set([
  "connection",
  "upgrade",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-extensions",
  "sec-websocket-protocol",
]);

/**
 * Whether the upgrade request's cookies may authenticate the socket. A
 * browser sends its cookies with any page's WebSocket and CORS does not
 * apply to sockets, so (as Hasura: "cookies only under the CORS rules") only
 * a request without an Origin (not a browser), from the server's own origin,
 * or from an origin HASURA_GRAPHQL_CORS_DOMAIN lists explicitly (the origins
 * that may send credentials over HTTP, server/plugins/cors.ts) keeps them.
 */
export function cookiesAllowed(headers: RequestHeaders, allowedOrigin: ((origin: string) => boolean) | null): boolean {
  const origin = headers.origin;
  if (typeof origin !== "string") return origin === undefined;
  try {
    if (new URL(origin).host === headers.host) return true;
  } catch {
    return false;
  }
  return allowedOrigin?.(origin) ?? false;
}

/** The upgrade request's headers with the init payload's `headers` over them (names lower-cased, string values only). */
export function mergedHeaders(upgrade: RequestHeaders, payload: unknown): RequestHeaders {
  const merged: RequestHeaders = {};
  for (const [k, v] of Object.entries(upgrade)) if (!CONNECTION_HEADERS.has(k)) merged[k] = v;
  const given = (payload as { headers?: unknown } | null | undefined)?.headers;
  if (given && typeof given === "object" && !Array.isArray(given)) {
    for (const [k, v] of Object.entries(given as Record<string, unknown>)) {
      if (typeof v === "string") merged[k.toLowerCase()] = v;
    }
  }
  return merged;
}

/** Authenticates a socket's headers; a refusal is a HasuraError whose message the close reason or connection_error carries. */
export async function authenticateSocket(app: FastifyInstance, headers: RequestHeaders, ip: string): Promise<SocketAuth> {
  try {
    const { session, expiresAt } = await app.authenticator.authenticate(headers, undefined, ip);
    if (!app.appRoles.has(session.role)) throw errors.notApplicationRole(session.role);
    if (expiresAt !== undefined && expiresAt <= Date.now()) throw new HasuraError("invalid-jwt", "Could not verify JWT: JWTExpired", 400);
    return { session, expiresAt };
  } catch (e) {
    throw toHasuraError(e, undefined) ?? errors.internal();
  }
}

// setTimeout's longest delay (~24.8 days); a later expiry re-arms.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `onExpiry` when `expiresAt` passes; re-armed by `move`, stopped by `clear`. */
export class ExpiryTimer {
  #timer: NodeJS.Timeout | undefined;
  readonly #onExpiry: () => void;
  constructor(onExpiry: () => void) {
    this.#onExpiry = onExpiry;
  }
  move(expiresAt: number | undefined): void {
    this.clear();
    if (expiresAt === undefined) return;
    const delay = expiresAt - Date.now();
    if (delay <= 0) {
      this.#onExpiry();
      return;
    }
    this.#timer = setTimeout(() => (delay > MAX_TIMER_MS ? this.move(expiresAt) : this.#onExpiry()), Math.min(delay, MAX_TIMER_MS));
    this.#timer.unref();
  }
  clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** A close reason within the protocol's 123 bytes. */
export function closeReason(message: string): string {
  const buf = Buffer.from(message);
  if (buf.length <= 123) return message;
  return `${buf
    .subarray(0, 120)
    .toString("utf8")
    .replace(/\uFFFD+$/, "")}...`;
}
