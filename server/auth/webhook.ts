/**
 * Hasura's authentication webhook (HASURA_GRAPHQL_AUTH_HOOK), GET and POST
 * contracts, and a cache of its decisions bounded by the expiry the hook
 * gives, so a busy client does not call the hook on every request.
 */
import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import { HasuraError, truncateForMessage } from "../errors.ts";
import type { AuthConfig } from "./auth-config.ts";
import { expiryFrom } from "./jwks.ts";

export interface HookDecision {
  variables: Record<string, string>;
  setCookies: string[];
  /** When the hook said its decision expires (Expires or Cache-Control max-age), in ms; absent: it did not say. */
  expiresAt?: number;
}

type Headers = Record<string, string | string[] | undefined>;

// Hasura does not forward these to the hook in GET mode (its commonClientHeadersIgnored).
const GET_IGNORED = new Set([
  "content-length",
  "content-md5",
  "user-agent",
  "host",
  "origin",
  "referer",
  "accept",
  "accept-encoding",
  "accept-language",
  "accept-datetime",
  "cache-control",
  "connection",
  "dnt",
  "content-type",
]);

// Headers that describe the client's connection to us, not the request
// (RFC 9110 §7.6.1, plus Expect and the legacy Proxy-Connection): never
// forwarded in either mode. Hasura's HTTP client drops them itself; fetch
// refuses some outright (Keep-Alive, Expect, Upgrade, Transfer-Encoding), which
// would turn a client's harmless header into a failed hook call.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "expect",
  "host",
  "content-length",
  "http2-settings",
]);

const MAX_CACHE_MS = 10 * 60_000;

const unexpected = (message: string) => new HasuraError("unexpected", message, 500);

/** Names the client's Connection header marks as hop-by-hop, lower-cased. */
function connectionNamed(headers: Headers): Set<string> | undefined {
  const c = headers.connection;
  if (c === undefined) return undefined;
  const named = new Set<string>();
  for (const part of (Array.isArray(c) ? c.join(",") : c).split(",")) {
    const name = part.trim().toLowerCase();
    if (name) named.add(name);
  }
  return named;
}

function flatHeaders(headers: Headers, ignore?: Set<string>): Record<string, string> {
  const out: Record<string, string> = {};
  const named = connectionNamed(headers);
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || ignore?.has(k) || named?.has(k)) continue;
    out[k] = Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

/** Expiry from the hook's JSON keys (Hasura's contract) or its HTTP headers. */
function expiryHeaders(body: Record<string, string>, res: Response): globalThis.Headers {
  const keyed = new globalThis.Headers();
  for (const [k, v] of Object.entries(body)) {
    const lk = k.toLowerCase();
    if (lk === "cache-control" || lk === "expires") keyed.set(lk, v);
  }
  return keyed.has("cache-control") || keyed.has("expires") ? keyed : res.headers;
}

function decisionExpiry(body: Record<string, string>, res: Response, now: number): number {
  return Math.min(expiryFrom(expiryHeaders(body, res), now, 0), now + MAX_CACHE_MS);
}

/** The expiry the hook stated (max-age or Expires), uncapped: a WebSocket closes then (Hasura). No statement: none. */
function statedExpiry(body: Record<string, string>, res: Response, now: number): number | undefined {
  const headers = expiryHeaders(body, res);
  const stated = /(?:^|,)\s*(?:s-maxage|max-age)\s*=/.test(headers.get("cache-control")?.toLowerCase() ?? "") || headers.has("expires");
  if (!stated) return undefined;
  const t = expiryFrom(headers, now, Number.NaN);
  return Number.isNaN(t) ? undefined : t;
}

export function createWebhook(hook: NonNullable<AuthConfig["authHook"]>) {
  // ttlResolution 0: no clock-caching timer re-armed per request (see authenticate.ts).
  const cache = new LRUCache<string, HookDecision>({ max: 10_000, ttlAutopurge: false, ttlResolution: 0 });

  return async function callHook(headers: Headers, body: unknown): Promise<HookDecision> {
    const forwarded = flatHeaders(headers, hook.mode === "GET" ? GET_IGNORED : undefined);
    const payload = hook.mode === "POST" ? JSON.stringify({ headers: forwarded, request: body ?? null }) : undefined;
    const cacheKey = createHash("sha256")
      .update(JSON.stringify(Object.entries(forwarded).sort()))
      .update(payload ?? "")
      .digest("base64");
    const cached = cache.get(cacheKey);
    if (cached) return cached;

    let res: Response;
    try {
      res = await fetch(hook.url, {
        method: hook.mode,
        headers: hook.mode === "POST" ? { "content-type": "application/json" } : forwarded,
        body: payload,
        signal: AbortSignal.timeout(hook.timeoutMs),
        redirect: "error",
      });
    } catch {
      throw unexpected("webhook authentication request failed");
    }
    if (res.status === 401) {
      await res.body?.cancel();
      throw new HasuraError("access-denied", "Authentication hook unauthorized this request", 401);
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw unexpected("Invalid response from authorization hook");
    }
    let json: unknown;
    try {
      json = await res.json();
    } catch (e) {
      throw unexpected(`Invalid response from authorization hook: ${truncateForMessage((e as Error).message)}`);
    }
    if (typeof json !== "object" || json === null || Array.isArray(json) || !Object.values(json).every((v) => typeof v === "string")) {
      throw unexpected("Invalid response from authorization hook: expected an object of string values");
    }
    const variables: Record<string, string> = {};
    for (const [k, v] of Object.entries(json as Record<string, string>)) {
      const name = k.toLowerCase();
      if (name.startsWith("x-hasura-")) variables[name] = v;
    }
    if (!variables["x-hasura-role"]) {
      throw new HasuraError("invalid-params", "x-hasura-role not found in session variables", 400);
    }
    const now = Date.now();
    const decision: HookDecision = {
      variables,
      setCookies: res.headers.getSetCookie(),
      expiresAt: statedExpiry(json as Record<string, string>, res, now),
    };
    const expiresAt = decisionExpiry(json as Record<string, string>, res, now);
    if (expiresAt > now && decision.setCookies.length === 0) cache.set(cacheKey, decision, { ttl: expiresAt - now });
    return decision;
  };
}
