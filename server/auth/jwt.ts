/**
 * One configured JWT secret: its key (or JWKS), the algorithms it accepts,
 * and verification with jose, failures worded as Hasura words them.
 */
import { createSecretKey, type KeyObject } from "node:crypto";
import { decodeJwt, errors as joseErrors, importSPKI, importX509, jwtVerify, type JWTPayload } from "jose";
import { ConfigError } from "../config.ts";
import { HasuraError, truncateForMessage } from "../errors.ts";
import { HMAC_TYPES, type JwtKeyType, type JwtSecretConfig } from "./auth-config.ts";
import { compileClaimsConfig, type CompiledClaimsConfig } from "./claims.ts";
import { JwksCache, type JwksOptions } from "./jwks.ts";

/** Tokens are bounded before any parsing: a header this big is an attack or a bug. */
export const MAX_TOKEN_BYTES = 8 * 1024;

const ASYMMETRIC_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];

export interface JwtVerifier {
  config: JwtSecretConfig;
  claims: CompiledClaimsConfig;
  verify(token: string): Promise<JWTPayload>;
  jwks?: JwksCache;
}

const invalidJwt = (detail: string) => new HasuraError("invalid-jwt", `Could not verify JWT: ${detail}`, 400);

function algorithmsFor(type: JwtKeyType): string[] {
  if (type === "Ed25519" || type === "EdDSA") return ["EdDSA", "Ed25519"];
  return [type];
}

async function importKey(cfg: JwtSecretConfig, configKey: string): Promise<KeyObject | CryptoKey> {
  const type = cfg.type!;
  const material = cfg.key!;
  if (HMAC_TYPES.includes(type as never)) return createSecretKey(Buffer.from(material));
  const alg = type === "Ed25519" ? "EdDSA" : type;
  try {
    return material.includes("BEGIN CERTIFICATE")
      ? await importX509(material, alg, { extractable: false })
      : await importSPKI(material, alg, { extractable: false });
  } catch (e) {
    throw new ConfigError(configKey, `"key" is not a ${type} public key or certificate in PEM form (${(e as Error).message})`);
  }
}

/** A token's shape, checked before jose sees it, for Hasura's error wording. */
export function checkCompactShape(token: string): void {
  if (Buffer.byteLength(token) > MAX_TOKEN_BYTES)
    throw invalidJwt(`JWSError (CompactDecodeError token larger than ${MAX_TOKEN_BYTES} bytes)`);
  const parts = token.split(".");
  if (parts.length !== 3) {
    throw invalidJwt(`JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got ${parts.length})`);
  }
  if (!parts.every((p) => /^[A-Za-z0-9_-]*$/.test(p))) throw invalidJwt("JWSError (CompactDecodeError Base64Error invalid base64url)");
}

export function toHasuraJwtError(e: unknown): HasuraError {
  if (e instanceof HasuraError) return e;
  if (e instanceof joseErrors.JWTExpired) return invalidJwt("JWTExpired");
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    switch (e.claim) {
      case "nbf":
        return invalidJwt("JWTNotYetValid");
      case "iat":
        return invalidJwt("JWTIssuedAtFuture");
      case "aud":
        return invalidJwt("JWTNotInAudience");
      case "iss":
        return invalidJwt("JWTNotInIssuer");
    }
    return invalidJwt(`JWTClaimsSetDecodeError "${truncateForMessage(e.message)}"`);
  }
  if (e instanceof joseErrors.JWKSNoMatchingKey) return invalidJwt("JWSError NoUsableKeys");
  if (e instanceof joseErrors.JWSSignatureVerificationFailed || e instanceof joseErrors.JOSEAlgNotAllowed) {
    return invalidJwt("JWSError JWSInvalidSignature");
  }
  if (e instanceof joseErrors.JOSENotSupported || e instanceof joseErrors.JWSInvalid || e instanceof joseErrors.JWTInvalid) {
    return invalidJwt(`JWSError (CompactDecodeError ${truncateForMessage(e.message)})`);
  }
  if (e instanceof TypeError) return invalidJwt("JWSError JWSInvalidSignature"); // key/alg mismatch
  return invalidJwt("JWSError JWSInvalidSignature");
}

export async function createJwtVerifier(cfg: JwtSecretConfig, configKey: string, jwksOptions: JwksOptions = {}): Promise<JwtVerifier> {
  let claims: CompiledClaimsConfig;
  try {
    claims = compileClaimsConfig(cfg);
  } catch (e) {
    throw new ConfigError(configKey, `invalid JSON path claims_namespace_path error: ${(e as Error).message}`);
  }
  const options = {
    audience: cfg.audience,
    issuer: cfg.issuer,
    clockTolerance: cfg.allowedSkewSeconds,
  };
  let jwks: JwksCache | undefined;
  let verifySignature: (token: string) => Promise<{ payload: JWTPayload }>;
  if (cfg.jwkUrl) {
    const cache = new JwksCache(cfg.jwkUrl, jwksOptions);
    try {
      await cache.start();
    } catch (e) {
      throw new ConfigError(configKey, (e as Error).message);
    }
    jwks = cache;
    verifySignature = (token) => jwtVerify(token, cache.getKey, { ...options, algorithms: ASYMMETRIC_ALGS });
  } else {
    const key = await importKey(cfg, configKey);
    const algorithms = algorithmsFor(cfg.type!);
    verifySignature = (token) => jwtVerify(token, key, { ...options, algorithms });
  }
  return {
    config: cfg,
    claims,
    jwks,
    async verify(token) {
      checkCompactShape(token);
      let payload: JWTPayload;
      try {
        ({ payload } = await verifySignature(token));
      } catch (e) {
        throw toHasuraJwtError(e);
      }
      // jose does not reject tokens issued in the future; Hasura does.
      if (typeof payload.iat === "number" && payload.iat > Date.now() / 1000 + cfg.allowedSkewSeconds) {
        throw invalidJwt("JWTIssuedAtFuture");
      }
      return payload;
    },
  };
}

/** The unverified `iss`, for choosing among several secrets; undefined if unreadable. */
export function unverifiedIssuer(token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === "string" ? iss : undefined;
  } catch {
    return undefined;
  }
}
