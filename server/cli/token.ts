/**
 * `npm run token -- --role user --user-id 42 [--allowed-roles user,editor]
 *   [--var campus={a,b}] [--exp 1h]`
 * Mints a development token signed with the configured HMAC key
 * (HASURA_GRAPHQL_JWT_SECRET), in its claims namespace.
 */
import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { HMAC_TYPES, loadAuthConfig } from "../auth/auth-config.ts";
import { ConfigError } from "../env-parse.ts";

export interface TokenOptions {
  role: string;
  userId?: string;
  allowedRoles?: string[];
  vars?: Record<string, string>;
  expiresIn?: string;
}

export async function mintToken(env: Record<string, string | undefined>, opts: TokenOptions): Promise<string> {
  const auth = loadAuthConfig({ ...env, HASURA_GRAPHQL_ADMIN_SECRET: env.HASURA_GRAPHQL_ADMIN_SECRET || "token-cli-placeholder" });
  const secret = auth.jwtSecrets[0];
  if (!secret) throw new ConfigError("HASURA_GRAPHQL_JWT_SECRET", 'is not set; e.g. {"type":"HS256","key":"<at least 32 characters>"}');
  if (!secret.type || !HMAC_TYPES.includes(secret.type as never)) {
    throw new ConfigError(
      "HASURA_GRAPHQL_JWT_SECRET",
      `the configured key is ${secret.jwkUrl ? "a JWKS URL" : secret.type}, not an HMAC (HS256/384/512) secret: mint tokens with your identity provider`,
    );
  }
  const claims: Record<string, unknown> = {
    "x-hasura-default-role": opts.role,
    "x-hasura-allowed-roles": opts.allowedRoles?.length ? opts.allowedRoles : [opts.role],
  };
  if (opts.userId !== undefined) claims["x-hasura-user-id"] = opts.userId;
  for (const [k, v] of Object.entries(opts.vars ?? {})) {
    claims[k.toLowerCase().startsWith("x-hasura-") ? k.toLowerCase() : `x-hasura-${k.toLowerCase()}`] = v;
  }
  let payload: Record<string, unknown>;
  if (secret.claimsMap || secret.claimsNamespacePath) {
    throw new ConfigError(
      "HASURA_GRAPHQL_JWT_SECRET",
      "token minting supports claims_namespace only (not claims_map / claims_namespace_path)",
    );
  } else {
    payload = { [secret.claimsNamespace]: secret.claimsFormat === "stringified_json" ? JSON.stringify(claims) : claims };
  }
  const jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: secret.type, typ: "JWT" })
    .setIssuedAt()
    .setSubject(opts.userId ?? "dev")
    .setExpirationTime(opts.expiresIn ?? "1h");
  if (secret.issuer) jwt.setIssuer(secret.issuer);
  if (secret.audience?.[0]) jwt.setAudience(secret.audience[0]);
  return jwt.sign(Buffer.from(secret.key!));
}

if (import.meta.main) {
  try {
    const { values } = parseArgs({
      options: {
        role: { type: "string" },
        "user-id": { type: "string" },
        "allowed-roles": { type: "string" },
        var: { type: "string", multiple: true },
        exp: { type: "string", default: "1h" },
      },
    });
    if (!values.role) throw new ConfigError("--role", "is required (e.g. --role user)");
    const vars: Record<string, string> = {};
    for (const kv of values.var ?? []) {
      const i = kv.indexOf("=");
      if (i < 1) throw new ConfigError("--var", `expected name=value, got ${JSON.stringify(kv)}`);
      vars[kv.slice(0, i)] = kv.slice(i + 1);
    }
    const token = await mintToken(process.env, {
      role: values.role,
      userId: values["user-id"],
      allowedRoles: values["allowed-roles"]
        ?.split(",")
        .map((r) => r.trim())
        .filter(Boolean),
      vars,
      expiresIn: values.exp,
    });
    process.stdout.write(`${token}\n`);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    process.exit(1);
  }
}
