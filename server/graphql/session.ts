/**
 * Decides each GraphQL request's role and session variables, once, before
 * GraphQL runs: `request.hasuraSession`. Registered inside the GraphQL scope
 * (./scope.ts), so /healthz, /readyz and /graphiql never authenticate. The
 * handlers hand the session to grafast's request context (`hasuraSession`),
 * where the role preset turns it into Postgres settings.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { AuthConfig } from "../auth/auth-config.ts";
import type { FailureLimiter } from "../auth/admin-secret.ts";
import { createAuthenticator, type Authenticator } from "../auth/authenticate.ts";
import type { HasuraSession } from "../auth/pg-settings.ts";
import { ConfigError } from "../config.ts";
import { errors } from "../errors.ts";

declare module "fastify" {
  interface FastifyRequest {
    hasuraSession: HasuraSession | null;
  }
  interface FastifyInstance {
    authenticator: Authenticator;
  }
}

export interface SessionOptions {
  auth: AuthConfig;
  /** Failed admin-secret attempts per address, shared with the console's API. */
  adminFailures?: FailureLimiter;
}

export default fp<SessionOptions>(
  async (app, opts) => {
    const { auth } = opts;
    if (auth.unauthorizedRole && !app.appRoles.has(auth.unauthorizedRole)) {
      throw new ConfigError(
        "HASURA_GRAPHQL_UNAUTHORIZED_ROLE",
        `"${auth.unauthorizedRole}" is not an application role (known: ${app.appRoles.list().join(", ")})`,
      );
    }
    const authenticator = await createAuthenticator(
      auth,
      {
        minRefreshIntervalMs: auth.jwksMinRefreshMs,
        onRefreshError: (err) => app.log.warn({ err: err.message }, "JWKS refresh failed; keeping the cached keys"),
      },
      opts.adminFailures,
    );
    if (authenticator.mode === "development") {
      app.log.warn(
        "DEVELOPMENT MODE: no HASURA_GRAPHQL_ADMIN_SECRET is set, so every request runs as admin and X-Hasura-* headers are trusted. Never expose this server.",
      );
    }
    app.decorate("authenticator", authenticator);
    app.decorateRequest("hasuraSession", null);
    app.addHook("preHandler", async (request, reply) => {
      const { session, setCookies } = await authenticator.authenticate(request.headers, request.body, request.ip);
      if (setCookies?.length) reply.header("set-cookie", setCookies);
      // Whatever decided the role, it must be an application role: names such
      // as postgres, pg_*, the owner or the authenticator never reach SET ROLE.
      if (!app.appRoles.has(session.role)) throw errors.notApplicationRole(session.role);
      request.hasuraSession = session;
    });
  },
  { name: "session", dependencies: ["app-roles"], fastify: "5.x" },
);

declare global {
  namespace Grafast {
    interface RequestContext {
      /** The request's session, read by the role preset's context() (server/graphile/preset.ts). */
      hasuraSession?: HasuraSession | null;
    }
  }
}

/** Grafast's request context for a request that passed the session hook. */
export function grafastContextOf(request: FastifyRequest, reply: FastifyReply): Partial<Grafast.RequestContext> {
  return { fastifyv5: { request, reply }, hasuraSession: request.hasuraSession };
}
