/**
 * Headers every response carries, errors and 404s included: no MIME
 * sniffing (a JSON error echoing attacker text never runs as HTML), no
 * framing (clickjacking of /graphiql or the console), no Referer leaking
 * URLs. Set in onRequest, before any route runs, so a page that needs its
 * own Content-Security-Policy (the console) replaces that one header and
 * keeps the rest; X-Frame-Options still forbids framing then.
 *
 * Registered first (server/app.ts), so requests refused by load shedding
 * carry them too. Answers Node writes itself (408 for a request that did not
 * arrive in time) take RAW_SECURITY_HEADERS.
 */
import fp from "fastify-plugin";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "content-security-policy": "frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
};

/** The same headers as raw HTTP/1.1 header lines. */
export const RAW_SECURITY_HEADERS = Object.entries(SECURITY_HEADERS)
  .map(([name, value]) => `${name}: ${value}\r\n`)
  .join("");

const PAIRS = Object.entries(SECURITY_HEADERS);

export default fp(
  async (app) => {
    app.addHook("onRequest", (_request, reply, done) => {
      for (let i = 0; i < PAIRS.length; i++) reply.header(PAIRS[i]![0], PAIRS[i]![1]);
      done();
    });
  },
  { name: "security-headers", fastify: "5.x" },
);
