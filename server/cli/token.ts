/**
 * `npm run token -- --role user --user-id 42 [--allowed-roles user,editor]
 *   [--var campus={a,b}] [--exp 1h]` (`--help` for the usage)
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

const USAGE = `Usage: npm run token -- --role ROLE [options]

Mints a development JWT signed with the HMAC key of HASURA_GRAPHQL_JWT_SECRET
(HS256/384/512), with Hasura's claims in the configured namespace.

  --role ROLE            x-hasura-default-role (required)
  --user-id ID           x-hasura-user-id (also the token's subject)
  --allowed-roles a,b    x-hasura-allowed-roles (default: ROLE alone; must include ROLE)
  --var name=value       another session variable, x-hasura-<name> (repeatable);
                         quote {a,b} values from your shell: --var 'campus={madere}'
  --exp DURATION         lifetime: 30s, 15m, 1h, 7d, 2w (default 1h)
  -h, --help             this text

Example:
  TOKEN=$(npm run -s token -- --role user --user-id 1 --var 'campus={madere}' --exp 1h)
`;

// A positive duration in the units jose's setExpirationTime reads (it would
// also take "-1h" or "2h ago" and mint a token that is already expired).
const DURATION = /^\d+(\.\d+)? ?(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?|y|yrs?|years?)$/i;

/** The CLI's arguments as mintToken's options; every refusal names its option. */
const OPTIONS = {
  role: { type: "string" },
  "user-id": { type: "string" },
  "allowed-roles": { type: "string" },
  var: { type: "string", multiple: true },
  exp: { type: "string", default: "1h" },
  help: { type: "boolean", short: "h" },
} as const;

function readArgs(args: string[]) {
  try {
    return parseArgs({ args, options: OPTIONS }).values;
  } catch (e) {
    // parseArgs' own message names the option ("Unknown option '--x'", "Option '--role <value>' argument missing").
    throw new Error(`${(e as Error).message.split("\n")[0]!.split(". ")[0]} (see npm run token -- --help)`);
  }
}

/** The CLI's arguments as mintToken's options; every refusal names its option. */
export function parseTokenArgs(args: string[]): TokenOptions | "help" {
  const values = readArgs(args);
  if (values.help) return "help";
  if (!values.role?.trim()) throw new ConfigError("--role", "is required (e.g. --role user)");
  const exp = values.exp!;
  if (!DURATION.test(exp) || Number.parseFloat(exp) <= 0) {
    throw new ConfigError("--exp", `expected a positive duration such as 30s, 15m, 1h, 7d or 2w, got ${JSON.stringify(exp)}`);
  }
  const allowedRoles = values["allowed-roles"]
    ?.split(",")
    .map((r) => r.trim())
    .filter(Boolean);
  if (values["allowed-roles"] !== undefined && !allowedRoles?.length) {
    throw new ConfigError("--allowed-roles", "expected a comma-separated list of roles, e.g. --allowed-roles user,editor");
  }
  // The server refuses a token whose default role is not allowed ("not in allowed roles").
  if (allowedRoles && !allowedRoles.includes(values.role)) {
    throw new ConfigError("--allowed-roles", `must include the --role ${JSON.stringify(values.role)}, got ${allowedRoles.join(",")}`);
  }
  if (values["user-id"] !== undefined && values["user-id"] === "") throw new ConfigError("--user-id", "is empty");
  const vars: Record<string, string> = {};
  for (const kv of values.var ?? []) {
    const i = kv.indexOf("=");
    if (i < 1) throw new ConfigError("--var", `expected name=value, got ${JSON.stringify(kv)}`);
    vars[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return { role: values.role, userId: values["user-id"], allowedRoles, vars, expiresIn: exp };
}

if (import.meta.main) {
  try {
    const opts = parseTokenArgs(process.argv.slice(2));
    if (opts === "help") {
      process.stdout.write(USAGE);
    } else {
      process.stdout.write(`${await mintToken(process.env, opts)}\n`);
    }
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    process.exit(1);
  }
}
