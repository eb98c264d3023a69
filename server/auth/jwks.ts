/**
 * A JWKS endpoint's keys, fetched at start-up and kept fresh the way Hasura
 * does: refreshed when `Cache-Control: max-age` / `Expires` say they expire,
 * and when a token names an unknown `kid` (at most once per
 * `minRefreshIntervalMs`, so a flood of random kids cannot hammer the
 * provider). A failed refresh keeps serving the keys already held.
 *
 * jose's createRemoteJWKSet caches for a fixed time and ignores the
 * provider's cache headers; we keep jose for everything cryptographic
 * (createLocalJWKSet selects and imports the key) and own only the fetching.
 */
import { createLocalJWKSet, type JSONWebKeySet, type JWTHeaderParameters, type FlattenedJWSInput } from "jose";

export interface JwksOptions {
  minRefreshIntervalMs?: number;
  fetchTimeoutMs?: number;
  /** Used instead of "now" when the provider sends no expiry at all. */
  defaultMaxAgeMs?: number;
  onRefreshError?: (err: Error) => void;
}

type KeyResolver = ReturnType<typeof createLocalJWKSet>;

export class JwksCache {
  readonly url: string;
  #opts: Required<Omit<JwksOptions, "onRefreshError">> & Pick<JwksOptions, "onRefreshError">;
  #resolver: KeyResolver | null = null;
  #expiresAt = Infinity;
  #lastFetchAt = 0;
  #inflight: Promise<void> | null = null;
  fetchCount = 0;

  constructor(url: string, opts: JwksOptions = {}) {
    this.url = url;
    this.#opts = {
      minRefreshIntervalMs: opts.minRefreshIntervalMs ?? 10_000,
      fetchTimeoutMs: opts.fetchTimeoutMs ?? 5_000,
      defaultMaxAgeMs: opts.defaultMaxAgeMs ?? Infinity,
      onRefreshError: opts.onRefreshError,
    };
  }

  /** The first fetch; failing it is fatal at boot, as in Hasura. */
  async start(): Promise<void> {
    await this.#refresh();
  }

  /** jose key-resolver signature: (protectedHeader, token) → key. */
  getKey = async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
    if (Date.now() >= this.#expiresAt) void this.#refreshQuietly();
    try {
      return await this.#resolver!(header, token);
    } catch (e) {
      if ((e as { code?: string }).code !== "ERR_JWKS_NO_MATCHING_KEY") throw e;
      if (Date.now() - this.#lastFetchAt < this.#opts.minRefreshIntervalMs) throw e;
      await this.#refreshQuietly();
      return await this.#resolver!(header, token);
    }
  };

  async #refreshQuietly(): Promise<void> {
    try {
      await this.#refresh();
    } catch (e) {
      this.#opts.onRefreshError?.(e as Error);
    }
  }

  #refresh(): Promise<void> {
    this.#inflight ??= this.#fetch().finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  async #fetch(): Promise<void> {
    this.#lastFetchAt = Date.now();
    this.fetchCount++;
    let res: Response;
    try {
      res = await fetch(this.url, { signal: AbortSignal.timeout(this.#opts.fetchTimeoutMs), headers: { accept: "application/json" } });
    } catch (e) {
      this.#backOff();
      throw new Error(`Error fetching JWK: ${(e as Error).message}`);
    }
    if (!res.ok) {
      this.#backOff();
      throw new Error(`Non-2xx response on fetching JWK from: ${this.url}`);
    }
    let jwks: JSONWebKeySet;
    try {
      jwks = (await res.json()) as JSONWebKeySet;
      this.#resolver = createLocalJWKSet(jwks);
    } catch {
      this.#backOff();
      throw new Error(`Error parsing JWK from url: ${this.url}`);
    }
    this.#expiresAt = expiryFrom(res.headers, Date.now(), this.#opts.defaultMaxAgeMs);
  }

  /** After a failed refresh, wait the minimum interval before the next try. */
  #backOff(): void {
    this.#expiresAt = Date.now() + this.#opts.minRefreshIntervalMs;
  }
}

/** When the keys expire, from Cache-Control (max-age, s-maxage, no-cache) or Expires. */
export function expiryFrom(headers: Headers, now: number, fallbackMs: number): number {
  const cc = headers.get("cache-control")?.toLowerCase() ?? "";
  const maxAge = /(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*(\d+)/.exec(cc);
  if (maxAge) return now + Number(maxAge[1]) * 1000;
  if (/\b(no-cache|no-store|must-revalidate)\b/.test(cc)) return now + 1_000;
  const expires = headers.get("expires");
  if (expires) {
    const t = Date.parse(expires);
    if (!Number.isNaN(t)) return t;
  }
  return now + fallbackMs;
}
