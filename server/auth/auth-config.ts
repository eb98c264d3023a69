/**
 * Hasura's authentication settings, validated the way Hasura validates them
 * at boot (see ../shared/hasura-compat-facts.md §1.1, §2.1). Pure.
 */
import { ConfigError, httpUrl, int, json, oneOf, type Env } from "../env-parse.ts";

export const DEFAULT_CLAIMS_NAMESPACE = "https://hasura.io/jwt/claims";

// Clock skew a token may have: beyond a day it would mostly excuse expired tokens.
const MAX_SKEW_SECONDS = 86_400;

export const HMAC_TYPES = ["HS256", "HS384", "HS512"] as const;
const ASYMMETRIC_TYPES = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "Ed25519", "EdDSA"] as const;
export type JwtKeyType = (typeof HMAC_TYPES)[number] | (typeof ASYMMETRIC_TYPES)[number];

export type ClaimsMapValue = { path: string; default?: unknown } | string | string[];

export type TokenLocation = { type: "Authorization" } | { type: "Cookie"; name: string } | { type: "CustomHeader"; name: string };

export interface JwtSecretConfig {
  type?: JwtKeyType;
  key?: string;
  jwkUrl?: string;
  claimsNamespace: string;
  claimsNamespacePath?: string;
  claimsFormat: "json" | "stringified_json";
  audience?: string[];
  issuer?: string;
  claimsMap?: Record<string, ClaimsMapValue>;
  allowedSkewSeconds: number;
  header: TokenLocation;
}

export interface AuthConfig {
  /** Undefined: development mode (every request admin, X-Hasura-* headers trusted). */
  adminSecret?: string;
  jwtSecrets: JwtSecretConfig[];
  authHook?: { url: string; mode: "GET" | "POST"; timeoutMs: number };
  unauthorizedRole?: string;
  /** Least time between two JWKS fetches triggered by unknown kids. */
  jwksMinRefreshMs: number;
  /** How long a verified token without `exp` is reused before it is verified again. */
  noExpTokenCacheMs: number;
  /** Wrong admin secrets one client address may send per minute before it gets 429; 0: unlimited. */
  adminSecretMaxFailuresPerMinute: number;
}

function obj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseJwtSecret(raw: unknown, key: string, production: boolean): JwtSecretConfig {
  if (!obj(raw)) throw new ConfigError(key, "expected a JSON object");
  const known = new Set([
    "type",
    "key",
    "jwk_url",
    "claims_namespace",
    "claims_namespace_path",
    "claims_format",
    "audience",
    "issuer",
    "claims_map",
    "allowed_skew",
    "header",
  ]);
  for (const k of Object.keys(raw)) if (!known.has(k)) throw new ConfigError(key, `unknown key "${k}"`);
  const str = (k: string): string | undefined => {
    const v = raw[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw new ConfigError(key, `"${k}" must be a string`);
    return v;
  };
  const type = str("type");
  const keyMaterial = str("key");
  const jwkUrl = str("jwk_url");
  if (keyMaterial !== undefined && jwkUrl !== undefined) throw new ConfigError(key, "key, jwk_url both cannot be present");
  if (keyMaterial === undefined && jwkUrl === undefined) throw new ConfigError(key, "key and jwk_url both cannot be empty");
  if (keyMaterial !== undefined) {
    if (!type) throw new ConfigError(key, `"type" is required with "key"`);
    if (![...HMAC_TYPES, ...ASYMMETRIC_TYPES].includes(type as JwtKeyType)) {
      throw new ConfigError(key, `Invalid JWK: Key type: ${type} is not supported`);
    }
    if (HMAC_TYPES.includes(type as never) && Buffer.byteLength(keyMaterial) < 32) {
      throw new ConfigError(key, `an ${type} key must be at least 32 characters`);
    }
  }
  if (jwkUrl !== undefined) {
    const url = httpUrl(key, jwkUrl, `"jwk_url"`);
    // Over plain HTTP anyone on the path can substitute their own keys and so
    // sign any token; development keeps http for local identity providers.
    if (production && url.protocol === "http:") {
      throw new ConfigError(key, `"jwk_url" must use https:// when NODE_ENV=production (got ${url.origin})`);
    }
  }
  const namespace = str("claims_namespace");
  const namespacePath = str("claims_namespace_path");
  if (namespace !== undefined && namespacePath !== undefined) {
    throw new ConfigError(key, "claims_namespace and claims_namespace_path both cannot be set");
  }
  if (namespacePath !== undefined && !namespacePath.startsWith("$")) {
    throw new ConfigError(key, `invalid JSON path claims_namespace_path error: must start with $`);
  }
  const format = str("claims_format") ?? "json";
  if (format !== "json" && format !== "stringified_json") {
    throw new ConfigError(key, `"claims_format" must be json or stringified_json`);
  }
  let audience: string[] | undefined;
  if (raw.audience !== undefined && raw.audience !== null) {
    const a = raw.audience;
    if (typeof a === "string") audience = [a];
    else if (Array.isArray(a) && a.every((x) => typeof x === "string")) audience = a as string[];
    else throw new ConfigError(key, `"audience" must be a string or a list of strings`);
  }
  let claimsMap: Record<string, ClaimsMapValue> | undefined;
  if (raw.claims_map !== undefined && raw.claims_map !== null) {
    if (!obj(raw.claims_map)) throw new ConfigError(key, `"claims_map" must be an object`);
    claimsMap = {};
    for (const [name, v] of Object.entries(raw.claims_map)) {
      const lname = name.toLowerCase();
      if (typeof v === "string" || (Array.isArray(v) && v.every((x) => typeof x === "string"))) claimsMap[lname] = v;
      else if (obj(v) && typeof v.path === "string" && v.path.startsWith("$")) claimsMap[lname] = { path: v.path, default: v.default };
      else throw new ConfigError(key, `claims_map "${name}" must be a string, a list, or {"path": "$…", "default": …}`);
    }
    for (const required of ["x-hasura-allowed-roles", "x-hasura-default-role"]) {
      if (!(required in claimsMap)) throw new ConfigError(key, `${required} is expected but not found in claims_map`);
    }
  }
  let skew = 0;
  if (raw.allowed_skew !== undefined && raw.allowed_skew !== null) {
    if (
      typeof raw.allowed_skew !== "number" ||
      !Number.isInteger(raw.allowed_skew) ||
      raw.allowed_skew < 0 ||
      raw.allowed_skew > MAX_SKEW_SECONDS
    ) {
      throw new ConfigError(key, `"allowed_skew" must be an integer from 0 to ${MAX_SKEW_SECONDS} (seconds)`);
    }
    skew = raw.allowed_skew;
  }
  let header: TokenLocation = { type: "Authorization" };
  if (raw.header !== undefined && raw.header !== null) {
    const h = raw.header;
    const t = obj(h) && typeof h.type === "string" ? h.type.toLowerCase() : undefined;
    if (t === "authorization") header = { type: "Authorization" };
    else if ((t === "cookie" || t === "customheader") && obj(h) && typeof h.name === "string" && h.name) {
      header = t === "cookie" ? { type: "Cookie", name: h.name } : { type: "CustomHeader", name: h.name.toLowerCase() };
    } else {
      throw new ConfigError(
        key,
        `"header" must be {"type":"Authorization"}, {"type":"Cookie","name":…} or {"type":"CustomHeader","name":…}`,
      );
    }
  }
  return {
    type: type as JwtKeyType | undefined,
    key: keyMaterial,
    jwkUrl,
    claimsNamespace: namespace ?? DEFAULT_CLAIMS_NAMESPACE,
    claimsNamespacePath: namespacePath,
    claimsFormat: format,
    audience,
    issuer: str("issuer"),
    claimsMap,
    allowedSkewSeconds: skew,
    header,
  };
}

export function loadAuthConfig(env: Env): AuthConfig {
  const adminSecret = env.HASURA_GRAPHQL_ADMIN_SECRET || env.HASURA_GRAPHQL_ACCESS_KEY || undefined;
  const adminKey = env.HASURA_GRAPHQL_ADMIN_SECRET ? "HASURA_GRAPHQL_ADMIN_SECRET" : "HASURA_GRAPHQL_ACCESS_KEY";
  if (adminSecret !== undefined && adminSecret.length < 8) {
    throw new ConfigError(adminKey, "must be at least 8 characters");
  }

  const production = env.NODE_ENV === "production";
  // The plural form wins when both are set, as in Hasura.
  let jwtSecrets: JwtSecretConfig[] = [];
  const plural = json(env, "HASURA_GRAPHQL_JWT_SECRETS");
  if (plural !== undefined) {
    if (!Array.isArray(plural)) throw new ConfigError("HASURA_GRAPHQL_JWT_SECRETS", "expected a JSON array of secret objects");
    jwtSecrets = plural.map((s, i) => parseJwtSecret(s, `HASURA_GRAPHQL_JWT_SECRETS[${i}]`, production));
  } else {
    const single = json(env, "HASURA_GRAPHQL_JWT_SECRET");
    if (single !== undefined) jwtSecrets = [parseJwtSecret(single, "HASURA_GRAPHQL_JWT_SECRET", production)];
  }

  // Checked with or without a hook, so a typo is caught before a hook is added.
  const hookMode = oneOf(env, "HASURA_GRAPHQL_AUTH_HOOK_MODE", "GET", ["GET", "POST"]);
  const hookTimeoutMs = int(env, "HASURA_GRAPHQL_AUTH_HOOK_TIMEOUT_MS", 5_000, 1, 600_000);
  let authHook: AuthConfig["authHook"];
  if (env.HASURA_GRAPHQL_AUTH_HOOK) {
    const url = httpUrl("HASURA_GRAPHQL_AUTH_HOOK", env.HASURA_GRAPHQL_AUTH_HOOK);
    authHook = { url: url.toString(), mode: hookMode, timeoutMs: hookTimeoutMs };
  }

  const unauthorizedRole = env.HASURA_GRAPHQL_UNAUTHORIZED_ROLE || undefined;
  if (unauthorizedRole !== undefined && (unauthorizedRole.length > 63 || unauthorizedRole.includes("\0"))) {
    throw new ConfigError("HASURA_GRAPHQL_UNAUTHORIZED_ROLE", `${JSON.stringify(unauthorizedRole)} is not a valid role name`);
  }

  // Hasura's start-up matrix: every secured mode needs an admin secret.
  if (adminSecret === undefined) {
    if (authHook)
      throw new ConfigError("HASURA_GRAPHQL_AUTH_HOOK", "requires HASURA_GRAPHQL_ADMIN_SECRET (or HASURA_GRAPHQL_ACCESS_KEY) to be set");
    if (jwtSecrets.length)
      throw new ConfigError(
        plural !== undefined ? "HASURA_GRAPHQL_JWT_SECRETS" : "HASURA_GRAPHQL_JWT_SECRET",
        "requires HASURA_GRAPHQL_ADMIN_SECRET (or HASURA_GRAPHQL_ACCESS_KEY) to be set",
      );
    if (unauthorizedRole)
      throw new ConfigError(
        "HASURA_GRAPHQL_UNAUTHORIZED_ROLE",
        "requires HASURA_GRAPHQL_ADMIN_SECRET (or HASURA_GRAPHQL_ACCESS_KEY) to be set",
      );
  }
  if (authHook && jwtSecrets.length) {
    throw new ConfigError("HASURA_GRAPHQL_AUTH_HOOK", "Both webhook and JWT mode cannot be enabled at the same time");
  }
  if (authHook && unauthorizedRole) {
    throw new ConfigError(
      "HASURA_GRAPHQL_UNAUTHORIZED_ROLE",
      "is not allowed with HASURA_GRAPHQL_AUTH_HOOK (the hook decides anonymous access)",
    );
  }
  return {
    adminSecret,
    jwtSecrets,
    authHook,
    unauthorizedRole,
    jwksMinRefreshMs: int(env, "HASURA_GRAPHQL_JWKS_MIN_REFRESH_SECONDS", 10, 0, 3_600) * 1000,
    noExpTokenCacheMs: int(env, "HASURA_GRAPHQL_JWT_NO_EXP_CACHE_SECONDS", 60, 0, 600) * 1000,
    adminSecretMaxFailuresPerMinute: int(env, "HASURA_GRAPHQL_ADMIN_SECRET_MAX_FAILURES_PER_MINUTE", 10, 0, 1_000_000),
  };
}
