/**
 * Hasura's per-request authentication, in its order (compat facts §1):
 *
 *   no admin secret configured  → development mode: trust X-Hasura-* headers, role defaults to admin
 *   admin secret header sent    → must match; then trust X-Hasura-* headers (impersonation)
 *   JWT configured              → token from its location; none → unauthorized role or error
 *   webhook configured          → the hook decides
 *   otherwise                   → unauthorized role or error
 *
 * The result is checked against the application roles by the session plugin.
 */
import { parseCookie } from "cookie";
import type { JWTPayload } from "jose";
import { LRUCache } from "lru-cache";
import { HasuraError } from "../errors.ts";
import { FailureLimiter, makeAdminSecretGate } from "./admin-secret.ts";
import { backendOnlyRequested } from "./backend-only.ts";
import type { AuthConfig } from "./auth-config.ts";
import { chooseRole, type HasuraClaims } from "./claims.ts";
import { createJwtVerifier, unverifiedIssuer, type JwtVerifier } from "./jwt.ts";
import type { JwksOptions } from "./jwks.ts";
import type { HasuraSession } from "./pg-settings.ts";
import { createWebhook } from "./webhook.ts";

export type RequestHeaders = Record<string, string | string[] | undefined>;

export interface AuthResult {
  session: HasuraSession;
  /** Set-Cookie values a webhook asked to pass on to the client. */
  setCookies?: string[];
  /** When the credential stops being valid (ms since the epoch): a JWT's exp, a webhook's Expires/max-age. WebSockets close then. */
  expiresAt?: number;
}

export interface Authenticator {
  readonly mode: "development" | "admin-secret" | "jwt" | "webhook";
  /** `clientAddress`: the caller's IP, for counting failed admin-secret attempts. */
  authenticate(headers: RequestHeaders, body?: unknown, clientAddress?: string): Promise<AuthResult>;
  /** Exposed for tests and metrics. */
  readonly verifiers: readonly JwtVerifier[];
}

const ADMIN_HEADERS = ["x-hasura-admin-secret", "x-hasura-access-key"];

/** Longest a verified token is reused without verifying it again. */
const MAX_CACHE_MS = 600_000;

function header(headers: RequestHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Session variables from x-hasura-* request headers (trusted callers only). */
export function sessionFromTrustedHeaders(headers: RequestHeaders): HasuraSession {
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const n = name.toLowerCase();
    if (!n.startsWith("x-hasura-") || ADMIN_HEADERS.includes(n) || n === "x-hasura-role") continue;
    if (value === undefined) continue;
    variables[n] = Array.isArray(value) ? value.join(",") : value;
  }
  const requested = header(headers, "x-hasura-role");
  return { role: requested || "admin", variables, claims: null };
}

interface CachedToken {
  payload: JWTPayload;
  claims: HasuraClaims;
  skew: number;
  /** The verifier that verified it: a hit counts only for the same one (its key, issuer and claims mapping). */
  verifier: JwtVerifier;
}

/**
 * `adminFailures`: the failed admin-secret attempts per address, shared with
 * the other routes that take the secret (server/app.ts creates one).
 */
export async function createAuthenticator(
  cfg: AuthConfig,
  jwksOptions: JwksOptions = {},
  adminFailures = new FailureLimiter({ maxFailures: cfg.adminSecretMaxFailuresPerMinute }),
): Promise<Authenticator> {
  const verifiers = await Promise.all(
    cfg.jwtSecrets.map((s, i) =>
      createJwtVerifier(s, cfg.jwtSecrets.length > 1 ? `HASURA_GRAPHQL_JWT_SECRETS[${i}]` : "HASURA_GRAPHQL_JWT_SECRET", jwksOptions),
    ),
  );
  const adminSecretGate = cfg.adminSecret ? makeAdminSecretGate(cfg.adminSecret, adminFailures) : null;
  const hook = cfg.authHook ? createWebhook(cfg.authHook) : null;
  // Verified tokens, so a client reusing its token pays verification once.
  // ttlResolution 0: read the clock on every lookup, rather than lru-cache's
  // default of caching it behind a timer that a busy server re-arms per request.
  const tokenCache = new LRUCache<string, CachedToken>({
    max: 10_000,
    maxSize: 64 * 1024 * 1024,
    sizeCalculation: (_v, k) => k.length * 2 + 512,
    ttlResolution: 0,
  });

  // The error is built only when thrown: an Error captures a stack trace,
  // which the unauthorized role's every request would otherwise pay for.
  const unauthenticated = (whenMissing: () => HasuraError): AuthResult => {
    if (!cfg.unauthorizedRole) throw whenMissing();
    // The role is fixed; client headers are not trusted for it (stricter than Hasura).
    return { session: { role: cfg.unauthorizedRole, variables: {}, claims: null } };
  };

  function tokensFrom(headers: RequestHeaders): Array<{ token: string; verifier: JwtVerifier }> {
    const found: Array<{ token: string; verifier: JwtVerifier }> = [];
    let cookies: Record<string, string | undefined> | undefined;
    for (const verifier of verifiers) {
      const loc = verifier.config.header;
      let token: string | undefined;
      if (loc.type === "Authorization") {
        const auth = header(headers, "authorization");
        if (auth === undefined) continue;
        const words = auth.trim().split(/\s+/);
        // Scheme names are case-insensitive (RFC 7235 §2.1, RFC 6750); Hasura
        // accepts only "Bearer", which refuses clients that send "bearer".
        if (words.length !== 2 || words[0]!.toLowerCase() !== "bearer") {
          throw new HasuraError("invalid-headers", "Malformed Authorization header", 400);
        }
        token = words[1];
      } else if (loc.type === "Cookie") {
        const raw = header(headers, "cookie");
        if (raw === undefined) continue;
        cookies ??= parseCookie(raw);
        token = cookies[loc.name];
      } else {
        token = header(headers, loc.name);
      }
      if (token !== undefined && token !== "") found.push({ token, verifier });
    }
    return found;
  }

  /** A cached verification of this token by this verifier, unless it has expired since. */
  function cachedHit(token: string, verifier: JwtVerifier): CachedToken | undefined {
    const hit = tokenCache.get(token);
    if (!hit || hit.verifier !== verifier) return undefined;
    // Still expire on time; the caller re-verifies to get Hasura's exact error.
    if (typeof hit.payload.exp !== "number" || hit.payload.exp + hit.skew > Date.now() / 1000) return hit;
    tokenCache.delete(token);
    return undefined;
  }

  async function verified(token: string, verifier: JwtVerifier): Promise<CachedToken> {
    const hit = cachedHit(token, verifier);
    if (hit) return hit;
    const payload = await verifier.verify(token);
    const entry = { payload, claims: verifier.claims.extract(payload), skew: verifier.config.allowedSkewSeconds, verifier };
    // A token without exp never expires by itself: hold its verification only
    // briefly, so a key taken out of the JWKS stops accepting it soon.
    const ttl =
      typeof payload.exp === "number" ? Math.min((payload.exp + entry.skew) * 1000 - Date.now(), MAX_CACHE_MS) : cfg.noExpTokenCacheMs;
    if (ttl > 0) tokenCache.set(token, entry, { ttl });
    return entry;
  }

  async function jwtMode(headers: RequestHeaders): Promise<AuthResult> {
    const candidates = tokensFrom(headers);
    if (candidates.length === 0) {
      return unauthenticated(
        () => new HasuraError("invalid-headers", "Missing 'Authorization' or 'Cookie' header in JWT authentication mode", 400),
      );
    }
    // The common case, one token already verified by its verifier: its
    // issuer was checked then, so skip decoding it again.
    const only = candidates.length === 1 ? candidates[0]! : undefined;
    const hit = only && cachedHit(only.token, only.verifier);
    if (hit) return sessionFrom(headers, hit);
    const matching = candidates.filter(({ token, verifier }) => {
      const wanted = verifier.config.issuer;
      const iss = unverifiedIssuer(token);
      return wanted === undefined || iss === undefined || iss === wanted;
    });
    if (matching.length === 0) throw new HasuraError("invalid-jwt", "Could not verify JWT: JWTNotInIssuer", 400);
    if (matching.length > 1) throw new HasuraError("invalid-headers", "Could not verify JWT: Multiple JWTs found", 400);
    const { token, verifier } = matching[0]!;
    return sessionFrom(headers, await verified(token, verifier));
  }

  function sessionFrom(headers: RequestHeaders, { payload, claims, skew }: CachedToken): AuthResult {
    const role = chooseRole(header(headers, "x-hasura-role"), claims.allowedRoles, claims.defaultRole);
    const expiresAt = typeof payload.exp === "number" ? (payload.exp + skew) * 1000 : undefined;
    return { session: { role, variables: { ...claims.variables }, claims: payload as Record<string, unknown> }, expiresAt };
  }

  async function webhookMode(headers: RequestHeaders, body: unknown): Promise<AuthResult> {
    const decision = await hook!(headers, body);
    const { "x-hasura-role": role, ...variables } = decision.variables;
    return { session: { role: role!, variables, claims: null }, setCookies: decision.setCookies, expiresAt: decision.expiresAt };
  }

  const mode: Authenticator["mode"] = !adminSecretGate ? "development" : verifiers.length ? "jwt" : hook ? "webhook" : "admin-secret";

  return {
    mode,
    verifiers,
    async authenticate(headers, body, clientAddress) {
      // Trusted callers only may ask for backend-only mutations (./backend-only.ts).
      if (!adminSecretGate) return { session: { ...sessionFromTrustedHeaders(headers), backendOnly: backendOnlyRequested(headers) } };
      const sent = header(headers, "x-hasura-admin-secret") ?? header(headers, "x-hasura-access-key");
      if (sent !== undefined) {
        adminSecretGate(sent, clientAddress);
        return { session: { ...sessionFromTrustedHeaders(headers), backendOnly: backendOnlyRequested(headers) } };
      }
      if (verifiers.length) return jwtMode(headers);
      if (hook) return webhookMode(headers, body);
      return unauthenticated(
        () => new HasuraError("access-denied", "x-hasura-admin-secret/x-hasura-access-key required, but not found", 401),
      );
    },
  };
}
