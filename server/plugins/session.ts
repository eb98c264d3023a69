/**
 * Decides each GraphQL request's role and session variables, once, before
 * GraphQL runs: `request.hasuraSession`. Registered inside the GraphQL scope
 * (server/app.ts) so health checks never authenticate.
 */
import type { FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { HasuraSession } from "../auth/session.ts";
import { HasuraError } from "../errors.ts";

declare module "fastify" {
  interface FastifyRequest {
    hasuraSession: HasuraSession | null;
  }
}

export interface SessionOptions {
  unauthorizedRole: string;
}

export function resolveSession(_request: FastifyRequest, opts: SessionOptions): HasuraSession {
  return { role: opts.unauthorizedRole, variables: {}, claims: null };
}

export default fp<SessionOptions>(
  async (app, opts) => {
    if (!app.appRoles.has(opts.unauthorizedRole)) {
      throw new HasuraError(
        "invalid-configuration",
        `HASURA_GRAPHQL_UNAUTHORIZED_ROLE: "${opts.unauthorizedRole}" is not an application role (known: ${app.appRoles.list().join(", ")})`,
      );
    }
    app.decorateRequest("hasuraSession", null);
    app.addHook("preHandler", async (request) => {
      const session = resolveSession(request, opts);
      // The allow-list check happens for every request, whatever decided the role.
      if (!app.appRoles.has(session.role)) {
        throw new HasuraError("access-denied", "Your requested role is not in allowed roles");
      }
      request.hasuraSession = session;
    });
  },
  { name: "session", dependencies: ["app-roles"], fastify: "5.x" },
);
