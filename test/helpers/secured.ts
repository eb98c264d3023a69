/**
 * Secured mode as the tests run it: one admin secret, the headers that
 * present it, and the env blocks a test server starts with. Spread the ones a
 * test needs (`{ ...SECURED_JWT, HASURA_GRAPHQL_PG_CONNECTIONS: "1" }`). A
 * test about the secret itself (a wrong one, a guessed one) writes that one
 * out where it is used.
 */
import { HS_JWT_SECRET } from "./tokens.ts";

/** The admin secret of every secured test server (the server requires at least 8 characters). */
export const ADMIN_SECRET = "test-admin-secret";

/** The admin secret as a client sends it: admin, unless X-Hasura-Role names another role. */
export const ADMIN: Readonly<Record<string, string>> = { "x-hasura-admin-secret": ADMIN_SECRET };

/** The admin secret set and nothing else: a request without it is refused (no unauthorized role). */
export const ADMIN_SECRET_ENV: Readonly<Record<string, string>> = { HASURA_GRAPHQL_ADMIN_SECRET: ADMIN_SECRET };

/** Secured mode as the school and the blog run it: the admin secret, and a request without credentials runs as `anonymous`. */
export const SECURED: Readonly<Record<string, string>> = { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_UNAUTHORIZED_ROLE: "anonymous" };

/** SECURED, and JWTs signed by tokens.ts's sign() are accepted. */
export const SECURED_JWT: Readonly<Record<string, string>> = { ...SECURED, HASURA_GRAPHQL_JWT_SECRET: HS_JWT_SECRET };

/**
 * NODE_ENV=production, to spread with one of the above: the console is off
 * unless enabled, and a jwk_url must be https://.
 */
export const PRODUCTION: Readonly<Record<string, string>> = { NODE_ENV: "production" };
