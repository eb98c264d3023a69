/**
 * Admin secret comparison in constant time: both sides are hashed first so
 * neither the content nor the length of the secret leaks through timing.
 *
 * And a bound on guessing it: failed attempts are counted per client
 * address, and an address past the limit is refused (429 + Retry-After)
 * without comparing anything until its minute is over.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { LRUCache } from "lru-cache";
import { HasuraError } from "../errors.ts";

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

export function makeAdminSecretCheck(secret: string): (candidate: string) => boolean {
  const expected = digest(secret);
  return (candidate) => timingSafeEqual(digest(candidate), expected);
}

export interface FailureLimiterOptions {
  /** Failed attempts one address may make per window; 0: no limit. */
  maxFailures: number;
  windowMs?: number;
  /** Addresses remembered at once (least recently failing forgotten first). */
  maxAddresses?: number;
}

interface Failures {
  count: number;
  windowStart: number;
}

/**
 * Failed attempts per client address in fixed windows. Memory is bounded by
 * `maxAddresses`; an attacker rotating through more addresses than that gets
 * `maxFailures` guesses per address per window, which is the same bound.
 */
export class FailureLimiter {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly #failures: LRUCache<string, Failures>;

  constructor(opts: FailureLimiterOptions) {
    this.maxFailures = opts.maxFailures;
    this.windowMs = opts.windowMs ?? 60_000;
    // No ttl: windows are checked on read, so no timer runs per entry.
    this.#failures = new LRUCache({ max: opts.maxAddresses ?? 10_000 });
  }

  get size(): number {
    return this.#failures.size;
  }

  /** Milliseconds until `address` may try again; 0 when it may now. */
  blockedFor(address: string, now = Date.now()): number {
    if (this.maxFailures === 0 || this.#failures.size === 0) return 0;
    const f = this.#failures.get(address);
    if (!f || f.count < this.maxFailures) return 0;
    return Math.max(0, f.windowStart + this.windowMs - now);
  }

  fail(address: string, now = Date.now()): void {
    if (this.maxFailures === 0) return;
    const f = this.#failures.get(address);
    if (!f || now - f.windowStart >= this.windowMs) this.#failures.set(address, { count: 1, windowStart: now });
    else f.count++;
  }
}

/**
 * The unit an attacker controls: an IPv4 address, or an IPv6 /64 (one
 * customer's prefix; counting single IPv6 addresses would give each
 * attacker 2^64 of them).
 */
export function clientKey(ip: string | undefined): string {
  if (!ip) return "unknown";
  if (!ip.includes(":")) return ip;
  const lower = ip.toLowerCase();
  if (lower.startsWith("::ffff:") && lower.includes(".")) return lower.slice(7);
  const [head = "", tail] = lower.split("::");
  const left = head ? head.split(":") : [];
  const right = tail === undefined ? [] : tail ? tail.split(":") : [];
  const groups = tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/**
 * The one rule for every route that takes the admin secret (GraphQL, the
 * console's API): past the address's limit, refuse without comparing; a
 * wrong secret counts as a failure. Throws Hasura's 429 / 401.
 */
export function makeAdminSecretGate(secret: string, failures: FailureLimiter): (sent: string, clientAddress: string | undefined) => void {
  const matches = makeAdminSecretCheck(secret);
  return (sent, clientAddress) => {
    // Past the limit the secret is not even compared, right or wrong:
    // otherwise the answer to the next guess would still tell.
    const wait = failures.size === 0 ? 0 : failures.blockedFor(clientKey(clientAddress));
    if (wait > 0) throw tooManyAdminSecretFailures(wait);
    if (!matches(sent)) {
      failures.fail(clientKey(clientAddress));
      throw new HasuraError("access-denied", "invalid x-hasura-admin-secret/x-hasura-access-key", 401);
    }
  };
}

/**
 * The console's admin-only routes (its data, the explainer): the admin
 * secret in X-Hasura-Admin-Secret, through the gate above; none configured
 * (development mode): everyone is admin. Throws Hasura's 401 / 429.
 */
export function makeConsoleAdminCheck(
  secret: string | undefined,
  failures: FailureLimiter,
): (request: { headers: Record<string, string | string[] | undefined>; ip: string }) => void {
  if (!secret) return () => {};
  const gate = makeAdminSecretGate(secret, failures);
  return (request) => {
    const sent = request.headers["x-hasura-admin-secret"];
    if (typeof sent !== "string") throw new HasuraError("access-denied", "You have to be an admin to access this endpoint", 401);
    gate(sent, request.ip);
  };
}

export const tooManyAdminSecretFailures = (retryMs: number) => {
  const seconds = Math.max(1, Math.ceil(retryMs / 1000));
  return new HasuraError(
    "access-denied",
    `too many failed x-hasura-admin-secret/x-hasura-access-key attempts from this address; retry in ${seconds} s`,
    429,
    "$",
    { "retry-after": String(seconds) },
  );
};
