/**
 * A Fastify request as grafserv's handlers take it. Mirrors grafserv's own
 * Fastify adaptor (servers/fastify/v5), which keeps it private: we call the
 * handlers ourselves because the schema is only known once the request's
 * role is.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { getBodyFromFrameworkBody, normalizeRequest, processHeaders } from "postgraphile/grafserv";

export function digestOf(request: FastifyRequest, reply: FastifyReply, requestContext: Partial<Grafast.RequestContext>) {
  return normalizeRequest({
    httpVersionMajor: request.raw.httpVersionMajor,
    httpVersionMinor: request.raw.httpVersionMinor,
    isSecure: request.protocol === "https",
    method: request.method,
    path: request.url,
    headers: processHeaders(request.headers),
    getQueryParams: () => request.query as Record<string, string>,
    getBody: () => getBodyFromFrameworkBody(request.body),
    requestContext,
    preferJSON: true,
  });
}
