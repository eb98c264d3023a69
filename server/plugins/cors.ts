/**
 * CORS as Hasura does it (HASURA_GRAPHQL_CORS_DOMAIN,
 * HASURA_GRAPHQL_DISABLE_CORS), through @fastify/cors, with one deliberate
 * difference: Hasura answers `*` by reflecting the caller's origin with
 * `Access-Control-Allow-Credentials: true`, which lets any web page read
 * cookie-authenticated answers. Here `*` sends `Access-Control-Allow-Origin: *`
 * without credentials; only an explicit list reflects the origin and allows
 * credentials.
 *
 * Registered before load shedding (server/app.ts), so a browser can read the
 * 503s too, and preflights are answered before any other work.
 */
import fastifyCors from "@fastify/cors";
import fp from "fastify-plugin";
import type { CorsOrigins } from "../cors-origins.ts";

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Hasura's wildcard: exactly one label, so `https://*.a.com` takes `https://x.a.com`, not `https://a.com` or `https://x.y.a.com`. */
export function originMatcher(origins: Exclude<CorsOrigins, "*">): (origin: string) => boolean {
  const exact = new Set(origins.exact);
  const patterns = origins.wildcards.map(
    (w) => new RegExp(`^${escapeRegExp(w.scheme)}[a-z0-9-]+\\.${escapeRegExp(w.host)}${w.port ? `:${w.port}` : ""}$`),
  );
  return (origin) => exact.has(origin) || patterns.some((p) => p.test(origin));
}

// Hasura's preflight answer: these methods, cached for 20 days; the
// requested headers (Authorization, Content-Type, X-Hasura-*) are reflected.
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const MAX_AGE_SECONDS = 1_728_000;

export interface CorsOptions {
  /** null: HASURA_GRAPHQL_DISABLE_CORS, no CORS headers at all. */
  origins: CorsOrigins | null;
}

export default fp<CorsOptions>(
  async (app, opts) => {
    const { origins } = opts;
    if (origins === null) return;
    if (origins === "*") {
      await app.register(fastifyCors, { origin: "*", credentials: false, methods: METHODS, maxAge: MAX_AGE_SECONDS });
      return;
    }
    const allowed = originMatcher(origins);
    await app.register(fastifyCors, {
      // false: no CORS headers at all, and a preflight falls through to 404.
      origin: (origin, cb) => cb(null, origin !== undefined && allowed(origin)),
      credentials: true,
      methods: METHODS,
      maxAge: MAX_AGE_SECONDS,
    });
  },
  { name: "cors", fastify: "5.x" },
);
